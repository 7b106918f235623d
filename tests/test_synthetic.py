"""The synthetic cohort: deterministic slices, tissue densities, RSNA files and DICOM quirks."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.uid import UID
from scipy import ndimage
from scipy.spatial import ConvexHull

from rsna_workshop.ct import read_ct
from rsna_workshop.synthetic import SUBTYPES, build_cohort, generate_slice
from rsna_workshop.synthetic.acquisition import HARDENING_BELOW
from rsna_workshop.synthetic.anatomy import TISSUE_HU, Tissue
from rsna_workshop.synthetic.generator import patient_scanner
from rsna_workshop.synthetic.hemorrhage import clot_lumps
from rsna_workshop.synthetic.cohort import MANIFEST
from rsna_workshop.synthetic.plan import QUIRKS, draw, plan_cohort

SCALE = 0.05  # about 150 slices: every hemorrhage pattern, a few normal patients, every quirk


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    return build_cohort(tmp_path_factory.mktemp("cohort") / "synthetic", scale=SCALE, workers=2).path


def labels(folder: Path) -> dict[str, dict[str, int]]:
    """stage_2_train.csv as {image id: {subtype or 'any': 0/1}}."""
    out: dict[str, dict[str, int]] = {}
    with open(folder / "stage_2_train.csv") as f:
        for row in csv.DictReader(f):
            image, _, name = row["ID"].rpartition("_")
            out.setdefault(image, {})[name] = int(row["Label"])
    return out


def test_same_seed_gives_identical_slices_and_another_seed_does_not():
    a = generate_slice(11, level=0.6, subtypes=("subdural", "intraparenchymal"))
    b = generate_slice(11, level=0.6, subtypes=("subdural", "intraparenchymal"))
    c = generate_slice(12, level=0.6, subtypes=("subdural", "intraparenchymal"))
    assert a.hu.dtype == np.float32 and a.hu.shape == (512, 512) and a.mask.dtype == np.uint8
    assert np.array_equal(a.hu, b.hu) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(a.hu, c.hu)
    assert np.array_equal(a.hu, np.rint(a.hu)) and a.hu.min() >= -1000 and a.hu.max() <= 3000


@pytest.mark.parametrize("level", [0.1, 0.35, 0.55, 0.8, 0.95])
def test_each_tissue_lies_in_its_hounsfield_range(level):
    scanner = patient_scanner(3)
    s = generate_slice(3, level=level)
    drift = scanner.calibration  # this scanner's water calibration, added to the body
    # beam hardening darkens the skull base, by at most the scanner's own strength
    darker = scanner.hardening if level < HARDENING_BELOW else 0.0
    checked = []
    for tissue, (low, high) in TISSUE_HU.items():
        thin = tissue in (Tissue.BONE, Tissue.DIPLOE)  # the tables and diploe are a few pixels thick
        core = ndimage.binary_erosion(s.tissue == tissue, iterations=1 if thin else 3)
        if core.sum() >= 50:
            median = float(np.median(s.hu[core])) - (drift if tissue != Tissue.AIR else 0.0)
            assert low - 3 - darker <= median <= high + 3, (tissue.name, level, median)
            checked.append(tissue)
    assert Tissue.WHITE in checked and {Tissue.BONE, Tissue.DIPLOE} & set(checked)
    if 0.3 < level < 0.9:
        assert Tissue.GREY in checked
    if 0.45 < level < 0.75:
        assert {Tissue.VENTRICLE, Tissue.DEEP_GREY} <= set(checked)
    assert not s.mask.any() and s.subtypes == ()


def test_grey_matter_is_denser_than_white_matter_and_csf_is_darkest():
    s = generate_slice(5, level=0.6)
    median = {t: np.median(s.hu[ndimage.binary_erosion(s.tissue == t, iterations=2)])
              for t in (Tissue.GREY, Tissue.WHITE, Tissue.VENTRICLE)}
    assert median[Tissue.VENTRICLE] + 10 < median[Tissue.WHITE] < median[Tissue.GREY] - 6


@pytest.mark.parametrize("subtype", SUBTYPES)
def test_each_subtype_draws_acute_blood_in_its_mask(subtype):
    level = 0.58 if subtype == "intraventricular" else 0.6
    s = next(s for seed in range(40)
             if (s := generate_slice(seed, level=level, subtypes=(subtype,))).subtypes and s.bleeds[0].stage == "acute")
    assert s.subtypes == (subtype,)
    assert set(np.unique(s.mask)) == {0, SUBTYPES.index(subtype) + 1}
    assert 48 <= np.median(s.hu[s.mask > 0]) <= 90


def test_a_parenchymal_clot_is_an_ovoid_not_a_polygon():
    """Solidity (area over convex hull) of 40 clots: ovoid with gentle lobulation (the earlier,
    star-like outlines had a 10th percentile of 0.91)."""
    solidity = []
    for seed in range(300, 340):
        clot = generate_slice(seed, level=0.5, subtypes=("intraparenchymal",)).mask > 0
        if clot.sum() >= 150:
            solidity.append(clot.sum() / ConvexHull(np.argwhere(clot)).volume)
    assert len(solidity) >= 30 and np.percentile(solidity, 10) >= 0.94


def test_a_clot_is_lumpy_on_a_scale_of_millimetres_without_a_regular_pattern():
    rows, cols = (a.ravel() for a in np.mgrid[0:200, 0:200])
    lumps = clot_lumps(np.random.default_rng(0), rows, cols, scale_px=4.0).reshape(200, 200)
    assert abs(lumps.mean()) < 1e-5 and lumps.std() == pytest.approx(1, abs=1e-4)

    def correlation(lag):
        return float(np.mean(lumps[:, lag:] * lumps[:, :-lag]) / np.mean(lumps * lumps))
    assert correlation(1) > 0.9 and abs(correlation(25)) < 0.2


def test_some_blood_lies_outside_the_range_colour_coding_paints():
    """Hyperacute, anaemic, subacute and chronic blood: colour-coding's misses are real."""
    medians = [float(np.median(s.hu[s.mask > 0])) for seed in range(60)
               if (s := generate_slice(seed, level=0.6, subtypes=("subdural",))).subtypes]
    below = [m for m in medians if m < 48]
    assert len(medians) >= 40 and 0.15 <= len(below) / len(medians) <= 0.6
    assert min(medians) < 30  # a chronic subdural, near CSF


def test_every_planned_slice_draws_exactly_the_subtypes_it_is_labelled_with():
    for job in plan_cohort(1, 0.04):
        assert draw(job).subtypes == job.requested, job


def test_several_subtypes_in_one_slice():
    s = generate_slice(4, level=0.6, subtypes=("subdural", "intraparenchymal"), patient=8)
    assert set(s.subtypes) == {"subdural", "intraparenchymal"}


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="subdurall.*choose from epidural"):
        generate_slice(1, level=0.5, subtypes=("subdurall",))
    with pytest.raises(ValueError, match="level must lie in 0"):
        generate_slice(1, level=1.5)


def test_label_file_has_six_rsna_rows_per_image_matching_files_and_masks(cohort):
    rows = (cohort / "stage_2_train.csv").read_text().splitlines()
    assert rows[0] == "ID,Label"
    table = labels(cohort)
    assert len(rows) == 1 + 6 * len(table)
    assert all(list(v) == [*SUBTYPES, "any"] for v in table.values())
    assert {p.stem for p in (cohort / "stage_2_train").glob("*.dcm")} == set(table)
    assert {p.stem for p in (cohort / "masks").glob("*.png")} == set(table)
    for image, v in table.items():
        mask = np.asarray(Image.open(cohort / "masks" / f"{image}.png"))
        for code, name in enumerate(SUBTYPES, start=1):
            assert v[name] == int((mask == code).any()), (image, name)
        assert v["any"] == int(mask.any())


def test_counts_per_class_match_the_manifest(cohort):
    table = labels(cohort)
    manifest = json.loads((cohort / MANIFEST).read_text())
    counts = manifest["counts"]
    assert counts["slices"] == manifest["n_slices"] == len(table)
    assert counts["hemorrhage"] == sum(v["any"] for v in table.values())
    for name in SUBTYPES:
        assert counts[name] == sum(v[name] for v in table.values())
        only = sum(v[name] and sum(v[s] for s in SUBTYPES) == 1 for v in table.values())
        assert counts[f"{name}_only"] == only > 0
    assert 0.3 < counts["hemorrhage"] / counts["slices"] < 0.7
    assert any(sum(v[s] for s in SUBTYPES) > 1 for v in table.values())


def test_slices_table_gives_contiguous_series_per_patient(cohort):
    with open(cohort / "slices.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["ID", "PatientID", "StudyInstanceUID", "SeriesInstanceUID", "z", "level", "subtypes"]
    table = labels(cohort)
    by_patient: dict[str, list[dict]] = {}
    for row in rows:
        by_patient.setdefault(row["PatientID"], []).append(row)
        assert set(filter(None, row["subtypes"].split("|"))) == {s for s in SUBTYPES if table[row["ID"]][s]}
    for patient_rows in by_patient.values():
        assert len({r["SeriesInstanceUID"] for r in patient_rows}) == 1
        z = sorted(float(r["z"]) for r in patient_rows)
        assert np.allclose(np.diff(z), 5.0, atol=0.05)
    sizes = Counter(len(v) for v in by_patient.values())
    assert sizes[1] > sizes[2] > 0 and sizes[3] > 0  # most patients one slice, some a short series
    assert len({r["SeriesInstanceUID"] for r in rows}) == len(by_patient)


def test_dicom_files_are_valid_ct_with_synthetic_identities(cohort):
    with open(cohort / "slices.csv") as f:
        rows = {r["ID"]: r for r in csv.DictReader(f)}
    windows = Counter()
    for path in sorted((cohort / "stage_2_train").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        row = rows[path.stem]
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2" and ds.Modality == "CT"
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        for uid in (ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID):
            assert UID(uid).is_valid
        assert (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.PatientID) == (
            row["StudyInstanceUID"], row["SeriesInstanceUID"], row["PatientID"])
        assert str(ds.PatientName).startswith("Synthetic^") and "SYNTH" in ds.PatientID
        assert float(ds.ImagePositionPatient[2]) == pytest.approx(float(row["z"]))
        assert (ds.Rows, ds.Columns, ds.BitsAllocated, ds.SamplesPerPixel) == (512, 512, 16, 1)
        assert ds.PhotometricInterpretation == "MONOCHROME2" and float(ds.RescaleSlope) == 1
        assert 0.4 <= float(ds.PixelSpacing[0]) <= 0.6
        windows[ds["WindowCenter"].VM] += 1
        if "PixelPaddingValue" not in ds and ds.BitsStored == 16 and ds.PixelRepresentation == 0:
            assert float(ds.RescaleIntercept) == -1024
    assert windows[2] > windows[1] > 0


def test_every_file_reads_back_to_the_generated_hounsfield_units(cohort):
    jobs = {job.id: job for job in plan_cohort(0, SCALE)}
    seen = Counter()
    for path in sorted((cohort / "stage_2_train").glob("*.dcm")):
        job = jobs[path.stem]
        if job.quirk is None and seen[None] >= 3:
            continue
        seen[job.quirk] += 1
        expected = generate_slice(job.seed, level=job.level, subtypes=job.requested,
                                  patient=job.patient, bleed_level=job.bleed_level).hu
        assert np.array_equal(read_ct(path).hu, expected), (path.name, job.quirk)
    assert set(seen) == {None, *QUIRKS.values()}


def test_second_build_is_a_no_op_and_force_rebuilds(cohort):
    before = (cohort / "stage_2_train.csv").stat().st_mtime_ns
    again = build_cohort(cohort, scale=SCALE)
    assert not again.built and again.n_slices == len(labels(cohort)) and again.nbytes > 0
    assert (cohort / "stage_2_train.csv").stat().st_mtime_ns == before


def test_same_seed_builds_identical_files_and_incomplete_folders_are_rebuilt(cohort, tmp_path):
    out = tmp_path / "again"
    (out / "stage_2_train").mkdir(parents=True)  # an interrupted build: files but no manifest
    (out / "stage_2_train" / "stale.dcm").write_bytes(b"partial")
    report = build_cohort(out, scale=SCALE, workers=2)
    assert report.built and not (out / "stage_2_train" / "stale.dcm").exists()
    for name in ("stage_2_train.csv", "slices.csv"):
        assert (out / name).read_bytes() == (cohort / name).read_bytes()
    for path in sorted((cohort / "stage_2_train").glob("*.dcm"))[:10]:
        assert (out / "stage_2_train" / path.name).read_bytes() == path.read_bytes()
    assert not out.with_name("again.partial").exists()


def test_bad_build_arguments_say_what_is_wrong_and_write_nothing(tmp_path):
    with pytest.raises(ValueError, match="scale must be > 0"):
        build_cohort(tmp_path / "cohort", scale=0)
    with pytest.raises(ValueError, match="workers >= 1"):
        build_cohort(tmp_path / "cohort", workers=0)
    assert list(tmp_path.iterdir()) == []


# What three fixed slices look like to the generator of GENERATOR_VERSION: the mean and the
# standard deviation of the HU, clipped to -100..200, in each cell of a 4 x 4 grid (the means see
# changes of density and shape, the deviations changes of noise and blur). A change to the generator
# that changes its images must bump GENERATOR_VERSION (so that built cohorts are rebuilt and cached
# embeddings dropped) and record the new fingerprint here; the test below fails until both are done.
FINGERPRINT_VERSION = "18"
FINGERPRINT_SLICES = [dict(seed=1, level=0.15, patient=11), dict(seed=2, level=0.5, patient=12),
                      dict(seed=3, level=0.45, patient=13, subtypes=("intraparenchymal", "subdural"))]
FINGERPRINT = [  # per slice: (cell means, cell standard deviations)
    ([[-86.83, -13.14, -12.05, -100.0],
      [-28.15, 56.32, 60.07, -78.1],
      [-66.89, 29.2, 30.04, -80.24],
      [-94.46, -83.55, -83.47, -98.46]],
     [[53.54, 91.73, 107.18, 0.0],
      [106.78, 88.89, 78.61, 68.2],
      [85.29, 107.37, 103.85, 69.0],
      [37.76, 64.22, 64.21, 19.62]]),
    ([[-99.87, -10.54, 3.56, -99.75],
      [-54.01, 39.2, 47.09, -79.79],
      [-58.1, 43.79, 38.39, -81.73],
      [-93.09, -64.2, -77.1, -95.99]],
     [[4.29, 102.62, 97.9, 6.02],
      [92.54, 23.91, 38.61, 65.36],
      [94.06, 54.36, 83.35, 68.1],
      [42.83, 91.7, 74.91, 32.64]]),
    ([[-100.0, -80.96, -80.49, -100.0],
      [-93.61, 44.02, 34.85, -89.93],
      [-94.99, 46.49, 27.84, -63.13],
      [-96.94, -40.0, -12.86, -98.36]],
     [[0.0, 65.52, 68.21, 0.0],
      [33.43, 68.56, 60.34, 47.36],
      [30.63, 55.96, 13.17, 86.48],
      [29.08, 95.0, 102.72, 20.14]]),
]


def test_generator_version_changes_whenever_the_generated_images_do():
    from rsna_workshop.synthetic import GENERATOR_VERSION

    def cells(hu):
        grid = np.clip(hu.astype(np.float64), -100, 200).reshape(4, 128, 4, 128).swapaxes(1, 2).reshape(4, 4, -1)
        return grid.mean(-1), grid.std(-1)

    measured = [cells(generate_slice(**s).hu) for s in FINGERPRINT_SLICES]
    changed = not np.allclose(measured, FINGERPRINT, atol=0.05)
    assert not (changed and GENERATOR_VERSION == FINGERPRINT_VERSION), (
        "the generator's images changed but GENERATOR_VERSION did not: bump it in "
        "rsna_workshop/synthetic/generator.py, then record the new fingerprint here")
    assert GENERATOR_VERSION == FINGERPRINT_VERSION and not changed, (
        f"GENERATOR_VERSION is {GENERATOR_VERSION}: set FINGERPRINT_VERSION to it and FINGERPRINT to "
        f"{np.round(measured, 2).tolist()}")


def test_metal_lies_on_the_circle_of_willis_or_outside_the_skull():
    from rsna_workshop.synthetic.generator import head_frame, patient_extras, patient_head

    brain = [Tissue.WHITE, Tissue.GREY, Tissue.CSF, Tissue.VENTRICLE, Tissue.DEEP_GREY, Tissue.STEM, Tissue.DENSE]
    seen = Counter()
    for patient in range(300):
        metal = patient_extras(patient).metal
        if metal is None:
            continue
        frame = head_frame(patient_head(patient), metal[2], patient_scanner(patient).spacing)
        if np.hypot(*(np.array(frame.to_pixel(*metal[:2])) - 255.5)) > 250:
            continue  # beyond the field of view (the head lies off-centre)
        s = generate_slice(patient, level=metal[2], patient=patient)
        core = s.hu >= 2000  # the metal itself, saturating the scale: bone stays far below
        assert core.any(), patient
        inside = np.isin(s.tissue[core], brain).mean() > 0.5
        kind = "clip" if inside else "outside"
        seen[kind] += 1
        if inside:  # an aneurysm clip: at the level of the suprasellar cistern, near the midline
            assert 0.24 <= metal[2] <= 0.36 and abs(metal[0]) <= 0.4, (patient, metal)
        else:  # in the hair or on the ear: nothing under it is brain or bone
            assert not np.isin(s.tissue[core], brain + [Tissue.BONE, Tissue.DIPLOE]).any(), (patient, metal)
    assert seen["clip"] >= 3 and seen["outside"] >= 15, seen


def test_a_scalp_swelling_shows_on_the_slices_of_its_height_only():
    from rsna_workshop.synthetic.extras import Extras, draw_extras
    from rsna_workshop.synthetic.generator import head_frame, patient_head

    head = patient_head(5)
    swelling = (0.5, 0.4, 10.0, 0.5, 0.1)  # angle, half width, 10 mm thick, at level 0.5, half height 0.1
    extras = Extras((), None, swelling, None, None, None, None, 0.0)

    def swollen_pixels(at):
        tissue = np.zeros((512, 512), np.uint8)
        draw_extras(extras, head, head_frame(head, at, 0.45), tissue, np.zeros((512, 512), np.float32))
        return int((tissue == Tissue.SOFT).sum())

    centre, edge = swollen_pixels(0.5), swollen_pixels(0.58)
    assert 400 < centre and 0 < edge < 0.6 * centre, (centre, edge)  # thickest at its centre
    assert swollen_pixels(0.62) == swollen_pixels(0.38) == 0  # not on slices beyond its height


def test_metal_throws_a_few_straight_streaks_not_a_regular_fan():
    from rsna_workshop.synthetic.extras import Extras, metal_streaks
    from rsna_workshop.synthetic.generator import head_frame, patient_head

    f = head_frame(patient_head(3), 0.3, 0.45)
    rays = ((0.3, 900.0), (1.9, -1200.0))
    extras = Extras((), None, None, None, None, None, (0.0, -0.25, 0.3, rays), 0.0)
    streaks = metal_streaks(extras, f)
    px, py = f.to_pixel(0.0, -0.25)
    for angle, strength in rays:  # 80 pixels out along each ray, both ways: strength / distance
        for way in (1, -1):
            row, col = int(round(py + way * 80 * np.sin(angle))), int(round(px + way * 80 * np.cos(angle)))
            assert abs(streaks[row, col] - strength / 84) < 0.3 * abs(strength / 84), (angle, way)
    off_ray = (0.3 + 1.9) / 2  # between the two rays the streaks vanish
    row, col = int(round(py + 80 * np.sin(off_ray))), int(round(px + 80 * np.cos(off_ray)))
    assert abs(streaks[row, col]) < 0.5
    assert metal_streaks(extras, head_frame(patient_head(3), 0.4, 0.45)) is None  # another level
