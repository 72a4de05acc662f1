"""Argument checks and width scaling shared by the backbones written here (AlexNet, SqueezeNet)."""


def scaled(units, width_multiplier):
    """`units` times `width_multiplier`, rounded, at least 1."""
    return max(1, int(round(units * width_multiplier)))


def validate(architecture, image_shape, min_size, width_multiplier):
    """Returns `image_shape` as a tuple; raises `ValueError` naming the bad argument."""
    image_shape = tuple(image_shape)
    if len(image_shape) != 3 or any(not isinstance(d, int) or d < 1 for d in image_shape):
        raise ValueError(
            f"`image_shape` must be 3 positive ints (height, width, channels). Received: image_shape={image_shape!r}"
        )
    if min(image_shape[:2]) < min_size:
        raise ValueError(
            f"{architecture} needs height and width of at least {min_size}. Received: image_shape={image_shape!r}"
        )
    if not width_multiplier > 0:
        raise ValueError(f"`width_multiplier` must be positive. Received: width_multiplier={width_multiplier!r}")
    return image_shape
