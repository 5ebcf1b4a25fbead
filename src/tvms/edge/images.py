"""Small JPEGs drawn locally with Pillow: a camera's evidence image and a snapshot."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFont


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:  # no DejaVu on this machine: Pillow's built-in font, scaled
        return ImageFont.load_default(size)


def scene_jpeg(
    lines: list[str],
    *,
    plate: str | None = None,
    width: int = 480,
    height: int = 270,
    seed: int | None = None,
) -> bytes:
    """A road scene stand-in: sky, asphalt, lane marks, a car (with `plate` on it), text lines."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), (92, 128, 168))
    draw = ImageDraw.Draw(image)
    horizon = height // 3
    draw.rectangle((0, horizon, width, height), fill=(58, 58, 62))
    for x in range(0, width, width // 8):
        draw.rectangle((x, height * 2 // 3, x + width // 16, height * 2 // 3 + 4), fill=(230, 230, 230))
    car_x = rng.randint(width // 8, width // 2)
    car_y = horizon + (height - horizon) // 3
    colour = rng.choice([(200, 30, 30), (30, 30, 200), (220, 220, 220), (20, 20, 20), (200, 180, 40)])
    draw.rounded_rectangle((car_x, car_y, car_x + width // 3, car_y + height // 4), 12, fill=colour)
    big, small = _font(max(12, height // 12)), _font(max(10, height // 18))
    if plate is not None:
        plate_box = (
            car_x + width // 12,
            car_y + height // 8,
            car_x + width // 4,
            car_y + height // 8 + height // 12,
        )
        draw.rectangle(plate_box, fill=(250, 250, 250), outline=(0, 0, 0))
        draw.text((plate_box[0] + 4, plate_box[1]), plate, fill=(0, 0, 0), font=small)
    y = 6
    for line in lines:
        draw.text(
            (8, y),
            line,
            fill=(255, 255, 255),
            font=big if y == 6 else small,
            stroke_width=1,
            stroke_fill=(0, 0, 0),
        )
        y += height // 10
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()
