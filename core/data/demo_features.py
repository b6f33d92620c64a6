"""The demo dataset's stand-in for VGG-16: a fixed numpy feature extractor over pixels.

It plays the part of the course's `fc7` features and their PCA, and looks only at the
pixels of each image; it never sees a scene description or a caption, so a captioning
model trained on these features has to read the image. Four steps:

1. `pixel_descriptors(images)`: hand-made descriptors of each (S, S, 3) uint8 image,
   in six blocks (BLOCKS):
   - layout: the mean RGB of each cell of a 4 x 4 grid (48 values);
   - grey_hist: a 16-bin histogram of grey levels (16);
   - hog: HOG-like gradient histograms of the grey image, 9 unsigned orientation
     bins weighted by gradient magnitude, in each cell of a 4 x 4 grid, each cell
     L2-normalised (144);
   - background: over unsaturated pixels, mean and spread of grey level and the
     share of them on an edge; the mean grey level of the outer border (4);
   - hue_sectors: blob statistics per hue. Saturated pixels (saturation > 0.4, value
     > 0.25) fall into 12 equal 30-degree hue sectors; for each sector's mask: whether
     it is empty, area, blob count (the Euler number of the mask by Gray's bit-quad
     counting, 8-connected), area per blob, perimeter (summed gradient magnitude of
     the mask after a 5 x 5 box blur), compactness (perimeter^2 / (4 pi area) per
     blob), centroid, spread, bounding box, coverage of a 4 x 4 grid, and a 12-bin
     histogram of the blurred mask's boundary orientations (42 per sector, 504);
   - regions: the same blob statistics (without coverage; boundaries from the whole
     image's blurred mask) of all saturated pixels in the left, right, top and bottom
     halves and the central quarter of the image, each with the 12-sector hue
     histogram of those pixels (38 per region, 190).
   906 values in all (DESCRIPTOR_SIZE).
2. `Standardizer`: centre every column on the train split's mean and scale it to unit
   variance there, then weight the blocks (layout 1, grey_hist 0.5, hog 1,
   background 0.5, hue_sectors 4, regions 4) so that no block wins by its size alone.
3. `random_relu(x, out_dim, seed)`: a fixed seeded Gaussian projection followed by a
   ReLU, giving the "fc7-like" features (4096 by default), non-negative like fc7.
4. `PCA`: the top principal components of the train split's fc7-like features, applied
   to both splits and whitened (each has unit variance on train); signs are fixed so
   every component's largest-magnitude loading is positive.

Shapes: N images, S image side, R descriptor size, F fc7-like size, K PCA size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import h5py
import numpy as np

GRID = 4            # cells per side for colour layout and blob coverage
HOG_CELLS = 4       # cells per side for gradient histograms
HOG_BINS = 9        # unsigned orientation bins per HOG cell
HUE_SECTORS = 12    # 30-degree hue sectors
SHAPE_BINS = 12     # boundary orientation bins per hue sector
SECTOR_SIZE = 14 + GRID * GRID + SHAPE_BINS         # values per hue sector (42)
REGION_SIZE = HUE_SECTORS + 14 + SHAPE_BINS         # values per image region (38)
# (name, columns, weight): after standardising, each block's share of the total
# variance is its weight's share, so no block wins the projection by its size alone.
BLOCKS = (("layout", GRID * GRID * 3, 1.0), ("grey_hist", 16, 0.5),
          ("hog", HOG_CELLS * HOG_CELLS * HOG_BINS, 1.0), ("background", 4, 0.5),
          ("hue_sectors", HUE_SECTORS * SECTOR_SIZE, 4.0), ("regions", 5 * REGION_SIZE, 4.0))
DESCRIPTOR_SIZE = sum(size for _, size, _ in BLOCKS)


# ---------------------------------------------------------------------------
# step 1: descriptors of pixels

def _hue(rgb: np.ndarray) -> np.ndarray:
    """(M, 3) floats in [0, 1], not grey -> hue in degrees (M,), the hexcone hue of HSV."""
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    v = rgb.max(axis=1)
    c = v - rgb.min(axis=1)
    h = np.where(v == r, ((g - b) / c) % 6.0, np.where(v == g, (b - r) / c + 2.0, (r - g) / c + 4.0))
    return 60.0 * h


def _cell_histogram(values: np.ndarray, weights: np.ndarray, cells: int, bins: int) -> np.ndarray:
    """Histograms of bin indices `values` (N, S, S) weighted by `weights`, per cell of a cells x cells grid.

    Returns (N, cells * cells, bins).
    """
    n, size, _ = values.shape
    cell = (np.arange(size) * cells) // size
    cell_idx = cell[:, None] * cells + cell[None, :]                           # (S, S)
    idx = (np.arange(n)[:, None, None] * cells * cells + cell_idx) * bins + values
    hist = np.bincount(idx.ravel(), weights.ravel(), minlength=n * cells * cells * bins)
    return hist.reshape(n, cells * cells, bins)


def _gradients(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of (N, S, S) along x and y (zero on the border) -> (gx, gy)."""
    gx, gy = np.zeros_like(x), np.zeros_like(x)
    gx[:, :, 1:-1] = (x[:, :, 2:] - x[:, :, :-2]) / 2
    gy[:, 1:-1, :] = (x[:, 2:, :] - x[:, :-2, :]) / 2
    return gx, gy


def _box_blur(x: np.ndarray, k: int = 5) -> np.ndarray:
    """Mean over a k x k window of (N, S, S), zero padding."""
    p = k // 2
    pad = np.pad(x, ((0, 0), (p, p), (p, p)))
    rows = sum(pad[:, i:i + x.shape[1], :] for i in range(k))
    return sum(rows[:, :, j:j + x.shape[2]] for j in range(k)) / (k * k)


def _euler_number(masks: np.ndarray) -> np.ndarray:
    """Objects minus holes of each binary mask (N, S, S), 8-connected (Gray's bit quads) -> (N,)."""
    m = np.pad(masks.astype(np.int8), ((0, 0), (1, 1), (1, 1)))
    a, b, c, d = m[:, :-1, :-1], m[:, :-1, 1:], m[:, 1:, :-1], m[:, 1:, 1:]
    total = a + b + c + d
    q1 = (total == 1).sum(axis=(1, 2))
    q3 = (total == 3).sum(axis=(1, 2))
    qd = ((total == 2) & (a == d)).sum(axis=(1, 2))
    return (q1 - q3 - 2 * qd) / 4.0


def _edges(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boundary strength and orientation bin (0..SHAPE_BINS-1) of masks (P, H, W) after a 5 x 5 box blur."""
    gx, gy = _gradients(_box_blur(masks.astype(np.float32)))
    angle = np.floor((np.arctan2(gy, gx) % np.pi) / np.pi * SHAPE_BINS).astype(np.int64) % SHAPE_BINS
    return np.hypot(gx, gy), angle


def _blob_features(masks: np.ndarray, grid: int = GRID, edges=None) -> np.ndarray:
    """Statistics of binary masks (P, H, W), H and W multiples of `grid` -> (P, 14 + grid*grid + SHAPE_BINS).

    Positions are fractions of the mask's width and height; `grid` 0 leaves out coverage.
    `edges` is `_edges(masks)`, or the same cut out of a larger mask's, else computed here.
    """
    p, height, width = masks.shape
    m = masks.astype(np.float32)
    pixels = m.sum(axis=(1, 2))
    area = pixels / (height * width)
    present = pixels > 0
    safe = np.maximum(pixels, 1.0)
    px, py = m.sum(axis=1), m.sum(axis=2)                       # (P, W) and (P, H) profiles
    xs = ((np.arange(width) + 0.5) / width).astype(np.float32)
    ys = ((np.arange(height) + 0.5) / height).astype(np.float32)
    cx, cy = px @ xs / safe, py @ ys / safe
    sx = np.sqrt(np.maximum(px @ xs**2 / safe - cx**2, 0.0))
    sy = np.sqrt(np.maximum(py @ ys**2 / safe - cy**2, 0.0))
    cols, rows = px > 0, py > 0
    x0 = np.where(present, cols.argmax(axis=1), 0) / width
    x1 = np.where(present, width - cols[:, ::-1].argmax(axis=1), 0) / width
    y0 = np.where(present, rows.argmax(axis=1), 0) / height
    y1 = np.where(present, height - rows[:, ::-1].argmax(axis=1), 0) / height
    count = np.maximum(_euler_number(masks), 0.0)
    per_blob = area / np.maximum(count, 1.0)
    mag, angle = edges if edges is not None else _edges(masks)
    perimeter = mag.sum(axis=(1, 2))                            # pixels
    compact = perimeter**2 / (4 * np.pi * safe) / np.maximum(count, 1.0)
    idx = np.arange(p)[:, None, None] * SHAPE_BINS + angle
    orient = np.bincount(idx.ravel(), mag.ravel(), minlength=p * SHAPE_BINS).reshape(p, SHAPE_BINS)
    orient /= np.maximum(orient.sum(axis=1, keepdims=True), 1e-12)
    scalars = [present, np.sqrt(area), count, np.sqrt(per_blob), perimeter / np.sqrt(height * width),
               np.where(present, compact, 0.0), cx, cy, sx, sy, x0, x1, y0, y1]
    coverage = m.reshape(p, grid, height // grid, grid, width // grid).mean(axis=(2, 4)).reshape(p, -1) \
        if grid else np.zeros((p, 0))
    return np.concatenate([np.stack(scalars, axis=1).astype(np.float64), coverage, orient], axis=1)


def pixel_descriptors(images: np.ndarray, chunk: int = 32) -> np.ndarray:
    """Descriptors of images (N, S, S, 3) uint8, S a multiple of 16 -> (N, DESCRIPTOR_SIZE) float64.

    Works through `chunk` images at a time, which keeps the float32 temporaries in cache.
    """
    parts = [_descriptors(images[i:i + chunk]) for i in range(0, len(images), chunk)]
    return np.concatenate(parts, axis=0) if parts else np.zeros((0, DESCRIPTOR_SIZE))


def _sector_counts(sector: np.ndarray) -> np.ndarray:
    """Pixels of each hue sector in each image of (N, H, W) sector indices (-1: none) -> (N, HUE_SECTORS)."""
    n = sector.shape[0]
    idx = (np.arange(n)[:, None, None] * (HUE_SECTORS + 1) + sector + 1).ravel()
    return np.bincount(idx, minlength=n * (HUE_SECTORS + 1)).reshape(n, HUE_SECTORS + 1)[:, 1:]


def _regions(size: int) -> list[tuple[slice, slice]]:
    """(rows, columns) of the left, right, top and bottom halves and the central quarter."""
    half, quarter, full = size // 2, size // 4, slice(None)
    return [(full, slice(0, half)), (full, slice(half, size)), (slice(0, half), full),
            (slice(half, size), full), (slice(quarter, size - quarter), slice(quarter, size - quarter))]


def _descriptors(images: np.ndarray) -> np.ndarray:
    n, size = images.shape[0], images.shape[1]
    rgb = images.astype(np.float32) / np.float32(255.0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    val = np.maximum(np.maximum(r, g), b)
    chroma = val - np.minimum(np.minimum(r, g), b)                   # saturation = chroma / value
    grey = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)   # (N, S, S)

    layout = rgb.reshape(n, GRID, size // GRID, GRID, size // GRID, 3).mean(axis=(2, 4)).reshape(n, -1)
    levels = np.minimum((grey * 16).astype(np.int64), 15)
    grey_hist = np.stack([np.bincount(row, minlength=16) for row in levels.reshape(n, -1)]) / size**2

    gx, gy = _gradients(grey)
    mag = np.hypot(gx, gy)
    angle = np.minimum((np.arctan2(gy, gx) % np.pi) / np.pi * HOG_BINS, HOG_BINS - 1).astype(np.int64)
    hog = _cell_histogram(angle, mag, HOG_CELLS, HOG_BINS)
    hog = (hog / np.sqrt((hog**2).sum(axis=2, keepdims=True) + 1e-6)).reshape(n, -1)

    plain = chroma < 0.25 * val
    plain_n = np.maximum(plain.sum(axis=(1, 2)), 1)
    plain_mean = (grey * plain).sum(axis=(1, 2)) / plain_n
    plain_std = np.sqrt(np.maximum((grey**2 * plain).sum(axis=(1, 2)) / plain_n - plain_mean**2, 0.0))
    plain_edges = ((mag > 0.05) & plain).sum(axis=(1, 2)) / plain_n
    ring = np.ones((size, size), bool)
    ring[2:-2, 2:-2] = False
    border = grey[:, ring].mean(axis=1)
    background = np.stack([plain_mean, plain_std, plain_edges, border], axis=1)

    coloured = (chroma > 0.4 * val) & (val > 0.25)
    sector = np.full(coloured.shape, -1, dtype=np.int64)                       # (N, S, S)
    sector[coloured] = np.floor(((_hue(rgb[coloured]) + 15.0) % 360.0) / 30.0).astype(np.int64) % HUE_SECTORS
    blobs = np.zeros((n, HUE_SECTORS, SECTOR_SIZE))
    image_idx, sector_idx = np.nonzero(_sector_counts(sector))
    for start in range(0, len(image_idx), 256):
        i, k = image_idx[start:start + 256], sector_idx[start:start + 256]
        blobs[i, k] = _blob_features(sector[i] == k[:, None, None])

    regions = []
    mag, angle = _edges(coloured)                  # cut out per region: no false edge at the cut
    for rows, cols in _regions(size):
        part = sector[:, rows, cols]
        hist = _sector_counts(part)
        hist = hist / np.maximum(hist.sum(axis=1, keepdims=True), 1)
        edges = mag[:, rows, cols], angle[:, rows, cols]
        regions.append(np.concatenate([hist, _blob_features(part >= 0, grid=0, edges=edges)], axis=1))

    parts = [layout, grey_hist, hog, background, blobs.reshape(n, -1), np.concatenate(regions, axis=1)]
    return np.concatenate([p.astype(np.float64) for p in parts], axis=1)


# ---------------------------------------------------------------------------
# steps 2-4: standardise, project to fc7-like, PCA

@dataclass(frozen=True)
class Standardizer:
    """Per-column centring and scaling fitted on a training matrix, with block weights.

    A column becomes (x - mean) * scale: unit variance on train, then every block of
    BLOCKS is scaled so that its share of the total variance is its weight's share;
    the total stays R (the number of columns). Columns constant on train become 0.
    """

    mean: np.ndarray        # (R,)
    scale: np.ndarray       # (R,)

    @classmethod
    def fit(cls, x: np.ndarray, blocks=BLOCKS) -> Standardizer:
        std = x.std(axis=0)
        varying = std > 1e-8
        total = sum(weight for _, _, weight in blocks)
        gain, start = np.zeros(x.shape[1]), 0
        for _, size, weight in blocks:
            used = max(int(varying[start:start + size].sum()), 1)
            gain[start:start + size] = np.sqrt(x.shape[1] * weight / total / used)
            start += size
        if start != x.shape[1]:
            raise ValueError(f"blocks cover {start} columns, the matrix has {x.shape[1]}")
        return cls(mean=x.mean(axis=0), scale=np.where(varying, gain / np.where(varying, std, 1.0), 0.0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) * self.scale


def relu_projection(in_dim: int, out_dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed projection of `random_relu`: W (R, out_dim) ~ N(0, 1/R), b ~ N(0, 0.25), from `seed`."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((in_dim, out_dim)) / np.sqrt(in_dim)
    return w, 0.5 * rng.standard_normal(out_dim)


def random_relu(x: np.ndarray, out_dim: int, seed: int, projection=None) -> np.ndarray:
    """ReLU(x @ W + b) with `relu_projection(R, out_dim, seed)` (or the given one): (N, R) -> (N, out_dim)."""
    w, b = projection if projection is not None else relu_projection(x.shape[1], out_dim, seed)
    return np.maximum(x @ w + b, 0.0)


@dataclass(frozen=True)
class PCA:
    """The top principal components of a training matrix, whitened: as the course reduced fc7 to 512.

    Each output column is one component with unit variance on the training matrix
    (whitening), so every component counts as much as the next for the model's
    first layer; without it the first few components, mostly background, dominate.
    """

    mean: np.ndarray         # (F,)
    components: np.ndarray   # (F, K), orthonormal columns
    std: np.ndarray          # (K,) standard deviation of each component on train

    @classmethod
    def fit(cls, x: np.ndarray, dim: int) -> PCA:
        """Fit on x (N, F) with dim < N, through the eigenvectors of the N x N Gram matrix."""
        n = x.shape[0]
        if not 0 < dim < n:
            raise ValueError(f"PCA to {dim} dimensions needs more than {dim} training rows, got {n}")
        mean = x.mean(axis=0)
        xc = x - mean
        eigvals, eigvecs = np.linalg.eigh(xc @ xc.T)            # ascending
        top = np.argsort(eigvals)[::-1][:dim]
        lam, u = np.maximum(eigvals[top], 1e-12), eigvecs[:, top]
        comps = xc.T @ u / np.sqrt(lam)                          # (F, K)
        flip = np.sign(comps[np.abs(comps).argmax(axis=0), np.arange(dim)])
        comps = comps * np.where(flip == 0, 1.0, flip)
        return cls(mean=mean, components=comps, std=np.sqrt(lam / n))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) @ self.components / self.std


def fc7_and_pca(descriptors: dict[str, np.ndarray], fc7_dim: int, pca_dim: int, seed: int,
                progress: Callable[[str, float], None] | None = None
                ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], "Extractor"]:
    """Steps 2-4 for every split of `descriptors` (split -> (N, R)), fitted on "train".

    Returns split -> (fc7-like (N, fc7_dim) float32, PCA (N, pca_dim) float32), and the
    fitted `Extractor`, which gives any new image the same features. The PCA is fitted
    on the float32 fc7-like features, so refitting it from the fc7 files gives the same
    result. `progress(message, fraction of this step)` hears each stage.
    """
    report = progress or (lambda message, fraction: None)
    report("Projecting descriptors to fc7-like features", 0.0)
    scaler = Standardizer.fit(descriptors["train"])
    fc7 = {s: random_relu(scaler(d), fc7_dim, seed).astype(np.float32) for s, d in descriptors.items()}
    report(f"Fitting a {pca_dim}-d PCA on the train features", 0.3)
    pca = PCA.fit(fc7["train"].astype(np.float64), pca_dim)
    report("Applying the PCA", 0.9)
    features = {s: (f, pca(f.astype(np.float64)).astype(np.float32)) for s, f in fc7.items()}
    return features, Extractor(scaler, seed, fc7_dim, pca)


# ---------------------------------------------------------------------------
# the fitted extractor, for images that are not in the dataset

EXTRACTOR_FORMAT = "caption-lab-demo-extractor"


class Extractor:
    """Steps 1-4 as fitted on a demo dataset's train split: any image in, its fc7-like and
    PCA features out, exactly as the dataset's own images got theirs (to float32 rounding).

        fc7, pca = extractor(images)          # images (N, S, S, 3) uint8
    """

    def __init__(self, scaler: Standardizer, seed: int, fc7_dim: int, pca: PCA):
        self.scaler, self.seed, self.fc7_dim, self.pca = scaler, int(seed), int(fc7_dim), pca
        self._projection = None

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(fc7-like (N, F) float32, PCA (N, K) float32) of images (N, S, S, 3) uint8."""
        x = self.scaler(pixel_descriptors(np.asarray(images, dtype=np.uint8)))
        if self._projection is None:               # the same draws as the build's, made once
            self._projection = relu_projection(x.shape[1], self.fc7_dim, self.seed)
        fc7 = random_relu(x, self.fc7_dim, self.seed, self._projection).astype(np.float32)
        return fc7, self.pca(fc7.astype(np.float64)).astype(np.float32)

    def save(self, path) -> None:
        with h5py.File(path, "w") as f:
            f.attrs["format"] = EXTRACTOR_FORMAT
            f.attrs["seed"], f.attrs["fc7_dim"] = self.seed, self.fc7_dim
            for name, value in (("scaler_mean", self.scaler.mean), ("scaler_scale", self.scaler.scale),
                                ("pca_mean", self.pca.mean), ("pca_components", self.pca.components),
                                ("pca_std", self.pca.std)):
                f.create_dataset(name, data=value, track_times=False)

    @classmethod
    def load(cls, path) -> "Extractor":
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != EXTRACTOR_FORMAT:
                raise ValueError(f"{path} is not a demo feature extractor")
            return cls(Standardizer(f["scaler_mean"][()], f["scaler_scale"][()]), int(f.attrs["seed"]),
                       int(f.attrs["fc7_dim"]), PCA(f["pca_mean"][()], f["pca_components"][()], f["pca_std"][()]))
