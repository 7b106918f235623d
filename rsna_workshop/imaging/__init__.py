"""From Hounsfield units to pictures: CT windows, blood colour-coding, and the model's input image.

Every function takes a float 2-D array of Hounsfield units (HU), as :func:`rsna_workshop.ct.read_ct`
gives, and returns uint8 images.

>>> import numpy as np
>>> from rsna_workshop.imaging import Preprocess, window
>>> hu = np.full((512, 512), 35.0, np.float32)          # grey matter everywhere
>>> int(window(hu, "brain")[0, 0])                       # 35 HU in a 40/80 window
112
>>> Preprocess(color_code=True)(hu).shape
(224, 224, 3)
"""

from .blood import BLOOD_HU, BONE_HU, blood_pixels, color_code, outline_blood, skull_interior
from .model_input import MODEL_SIZE, Preprocess, load_image, square_crop, to_model_size
from .windows import WINDOWS, multi_window, resolve_window, window

__all__ = ["BLOOD_HU", "BONE_HU", "MODEL_SIZE", "WINDOWS", "Preprocess", "blood_pixels", "color_code",
           "load_image", "multi_window", "outline_blood", "resolve_window", "skull_interior",
           "square_crop", "to_model_size", "window"]
