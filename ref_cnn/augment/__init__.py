"""Data augmentation [MB-14] in NumPy, verified against torchvision.transforms.v2.functional:
cropping, flipping, rotation, noise injection and colour-space transformation."""

from ref_cnn.augment import geometry
from ref_cnn.augment.color import (
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    grayscale_to_rgb,
    hsv_to_rgb,
    rgb_to_grayscale,
    rgb_to_hsv,
)
from ref_cnn.augment.geometry import (
    center_crop,
    crop,
    hflip,
    pad,
    random_crop,
    random_crop_params,
    rotate,
    vflip,
)
from ref_cnn.augment.noise import gaussian_noise, salt_and_pepper
from ref_cnn.augment.pipeline import augment_batch
