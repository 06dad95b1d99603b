"""The Python baseline of bench/ml.sh: what the ML service measures on a
photo (palette by k-means in Lab over a ~50k pixel sample, sharpness as the
variance of the Laplacian, exposure, contrast, noise), written the usual
way with Pillow (with draft mode: the same DCT-scaled decode the Rust side
uses), numpy and scikit-learn's KMeans, on one thread.

    python bench/ml_baseline.py DIR PHOTOS ROUNDS
"""

import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402

WHITE = np.array([0.95047, 1.0, 1.08883])
M = np.array([[0.4124564, 0.3575761, 0.1804375],
              [0.2126729, 0.7151522, 0.0721750],
              [0.0193339, 0.1191920, 0.9503041]])


def linear(c):
    c = c / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def lab(rgb):
    xyz = linear(rgb) @ M.T / WHITE
    d = 6 / 29
    f = np.where(xyz > d ** 3, np.cbrt(xyz), xyz / (3 * d * d) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def analyse(path):
    im = Image.open(path)
    im.draft("RGB", (1000, 1000))
    a = np.asarray(im.convert("RGB"), dtype=np.float32)
    h, w, _ = a.shape
    step = max(1, int(np.sqrt(h * w / 50_000)))
    sample = a[::step, ::step].reshape(-1, 3)
    km = KMeans(n_clusters=5, n_init=1, max_iter=25, random_state=0).fit(lab(sample))
    shares = np.bincount(km.labels_, minlength=5) / len(km.labels_)
    y = linear(a) @ np.array([0.2126729, 0.7151522, 0.0721750])
    enc = 255 * np.where(y <= 0.0031308, y * 12.92, 1.055 * np.power(y, 1 / 2.4) - 0.055)
    lap = enc[:-2, 1:-1] + enc[2:, 1:-1] + enc[1:-1, :-2] + enc[1:-1, 2:] - 4 * enc[1:-1, 1:-1]
    n = (enc[:-2, :-2] - 2 * enc[:-2, 1:-1] + enc[:-2, 2:] - 2 * enc[1:-1, :-2] + 4 * enc[1:-1, 1:-1]
         - 2 * enc[1:-1, 2:] + enc[2:, :-2] - 2 * enc[2:, 1:-1] + enc[2:, 2:])
    stops = np.log2(max(y.mean(), 1e-4) / 0.18)
    return km.cluster_centers_, shares, lap.var(), stops, np.abs(n).mean()


def main():
    folder, count, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    paths = [os.path.join(folder, f"photo-{i:02}.jpg") for i in range(count)]
    times = []
    for _ in range(rounds):
        for p in paths:
            t = time.perf_counter()
            analyse(p)
            times.append(time.perf_counter() - t)
    times.sort()
    p50 = times[round((len(times) - 1) * 0.5)] * 1000
    p99 = times[round((len(times) - 1) * 0.99)] * 1000
    print(f"python: {count} photos × {rounds} rounds, one thread: p50 {p50:.1f}ms  p99 {p99:.1f}ms")
    print(f"PY_P50_MS={p50:.3f}")


if __name__ == "__main__":
    main()
