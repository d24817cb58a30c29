"""Images and datasets for the course: photographs that ship inside installed
packages, your own files and URLs, Fashion-MNIST, the TF flowers photos and
the Clever Hans marks.

Run ``python -m vislib prefetch [PROFILE ...]`` once online to put everything
a profile needs into the Keras cache (used by ``binder/postBuild``).
"""

from .._core.images import CROP_FRACTION, center_crop, resize, to_rgb_uint8
from .datasets import (
                       FASHION_CLASSES,
                       FLOWER_CLASSES,
                       FashionMNIST,
                       ensure_fashion_mnist,
                       fashion_mnist,
                       flowers,
)
from .images import ImageNotFoundError, load_image
from .samples import (
                       SampleImage,
                       annotations,
                       example_boxes,
                       examples,
                       object_boxes,
                       sample_images,
)

__all__ = ["CROP_FRACTION", "FASHION_CLASSES", "FLOWER_CLASSES", "FashionMNIST", "ImageNotFoundError",
           "SampleImage", "annotations", "center_crop", "ensure_fashion_mnist", "example_boxes", "examples",
           "fashion_mnist", "flowers", "load_image", "object_boxes", "resize", "sample_images", "to_rgb_uint8"]
