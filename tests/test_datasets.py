"""Data sources (RSNA layout, folders), the data set, the positive class, sampling and the two splits."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import SLICES, label_rows, make_rsna, write_ct
from PIL import Image

from rsna_workshop.datasets import (
    TEACHABLE_MACHINE,
    ImageReader,
    TrainingSettings,
    from_folder,
    from_rsna,
    guess_positive,
    patient_split,
    read_labels,
    read_tm,
    split,
    teachable_split,
    write_tm,
)
from rsna_workshop.datasets.core import _dicom_patient_id
from rsna_workshop.errors import DataError, SettingsError
from rsna_workshop.imaging import Preprocess
from rsna_workshop.synthetic import build_cohort


@pytest.fixture
def rsna(tmp_path):
    return make_rsna(tmp_path / "rsna")


# --- the RSNA label file --------------------------------------------------------------------------


def test_read_labels_merges_six_rows_per_image_in_any_order(tmp_path):
    rows = label_rows(SLICES)
    rows = rows[::-1] + rows[:6]  # reversed, and one image's rows repeated
    path = tmp_path / "labels.csv"
    path.write_bytes(("ID,Label\r\n" + "\r\n".join(rows)).encode())  # CRLF, no final newline
    table = read_labels(path)
    assert [i.decode() for i in table.ids] == sorted(s[0] for s in SLICES)
    row = {i.decode(): labels for i, labels in zip(table.ids, table.labels)}
    assert row["ID_x000"].tolist() == [1, 0, 0, 0, 1, 1]
    assert row["ID_p001"].tolist() == [0, 1, 0, 0, 0, 1]
    assert row["ID_n005"].tolist() == [0, 0, 0, 0, 0, 0]


@pytest.mark.parametrize(
    "text, message",
    [
        ("Image,Target\nID_a_any,0\n", "has columns 'Image,Target'"),
        ("ID,Label,Extra\nID_a_any,0,1\n", "has columns 'ID,Label,Extra'"),
        ("ID,Label\nID_a_epidural,0\nID_a_any;1\n", "Row 3 .*needs exactly one comma"),
        ("ID,Label\nID_a_epidural,2\n", "Row 2 .*needs a Label of 0 or 1"),
        ("ID,Label\nID_a_bleeding,1\n", "Row 2 .*'ID_a_bleeding,1'.*names no RSNA label"),
        ("ID,Label\nID_a_epidural,0\nID_a_any,0\n", "has no row for intraparenchymal"),
        ("ID,Label\n", "no rows"),
    ],
)
def test_bad_label_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_labels(path)


# --- from_rsna ------------------------------------------------------------------------------------


def test_rules_choose_classes(rsna):
    assert from_rsna(rsna, "hemorrhage").counts() == {"normal": 12, "hemorrhage": 8}
    # "subdural" means subdural only: the epidural + subdural slice belongs to no class
    assert from_rsna(rsna, "subdural").counts() == {"normal": 12, "subdural": 4}
    three = from_rsna(rsna, "three-class")
    assert three.classes == ("normal", "intraparenchymal", "subdural")
    assert three.counts() == {"normal": 12, "intraparenchymal": 3, "subdural": 4}
    assert three.labels().tolist().count(1) == 3
    findings = {item.id: item.findings for item in from_rsna(rsna, "hemorrhage").items}
    assert findings["ID_x000"] == ("epidural", "subdural") and findings["ID_p001"] == ("intraparenchymal",)
    assert findings["ID_n005"] == ()
    with pytest.raises(DataError, match="Unknown class rule 'bleed'.*hemorrhage"):
        from_rsna(rsna, "bleed")


def test_rsna_items_carry_path_label_and_patient(rsna):
    data = from_rsna(rsna, "hemorrhage")
    item = next(item for item in data.items if item.id == "ID_s002")
    assert item.source == rsna / "stage_2_train" / "ID_s002.dcm"
    assert (item.label, item.patient_id, item.member) == ("hemorrhage", "P2", None)


def test_folder_with_part_of_the_images_keeps_those_present(rsna):
    for image_id in ("ID_n000", "ID_n001", "ID_s000"):
        (rsna / "stage_2_train" / f"{image_id}.dcm").unlink()
    with pytest.warns(UserWarning, match="3 of the 20 images .* using the 17 present"):
        data = from_rsna(rsna, "hemorrhage")
    assert data.counts() == {"normal": 10, "hemorrhage": 7}
    with pytest.raises(DataError, match="3 of the 20 images .*e.g. ID_n000.dcm.*strict=False"):
        from_rsna(rsna, "hemorrhage", strict=True)


def test_folder_without_any_named_image_is_an_error(rsna):
    for path in (rsna / "stage_2_train").iterdir():
        path.unlink()
    with pytest.raises(DataError, match="20 of the 20 images .*Nothing is left"):
        from_rsna(rsna, "hemorrhage")


def test_counts_in_from_rsna_equal_sampling_afterwards(rsna):
    direct = from_rsna(rsna, "hemorrhage", counts={"normal": 5, "hemorrhage": 3}, seed=7)
    later = from_rsna(rsna, "hemorrhage").sample({"normal": 5, "hemorrhage": 3}, seed=7)
    assert [i.id for i in direct.items] == [i.id for i in later.items]
    assert direct.counts() == {"normal": 5, "hemorrhage": 3}


def test_rsna_image_is_model_ready(rsna):
    data = from_rsna(rsna, "hemorrhage")
    image = data.image(0)
    assert image.shape == (224, 224, 3) and image.dtype == np.uint8
    assert data.images([0, 1]).shape == (2, 224, 224, 3)
    np.testing.assert_array_equal(data.images([0])[0], image)


# --- sampling -------------------------------------------------------------------------------------


def test_sample_is_seeded_and_nested(rsna):
    data = from_rsna(rsna, "hemorrhage")
    ids = lambda d: [item.id for item in d.items]  # noqa: E731
    assert ids(data.sample(4, seed=1)) == ids(data.sample(4, seed=1))
    assert ids(data.sample(4, seed=1)) != ids(data.sample(4, seed=2))
    small, large = data.sample({"normal": 3}, seed=1), data.sample({"normal": 9}, seed=1)
    assert set(ids(small)) < set(ids(large))
    assert small.counts() == {"normal": 3, "hemorrhage": 0}


def test_sample_more_than_available_says_how_many(rsna):
    data = from_rsna(rsna, "hemorrhage")
    expected = "Asked for 30 'normal' images but the data set has only 12; and 30 'hemorrhage' .* only 8"
    with pytest.raises(DataError, match=expected):
        data.sample(30, seed=0)
    with pytest.raises(DataError, match=r"classes \['bleed'\]"):
        data.sample({"bleed": 1}, seed=0)


# --- the data set itself --------------------------------------------------------------------------


@pytest.mark.parametrize("classes, positive", [
    (("normal", "hemorrhage"), "hemorrhage"),
    (("nobleed", "bleed"), "bleed"),
    (("bleed", "nobleed"), "bleed"),
    (("No hemorrhage", "Hemorrhage"), "Hemorrhage"),
    (("non-ICH", "ICH"), "ICH"),
    (("normal", "subdural"), "subdural"),
    (("Class 1", "Class 2"), "Class 2"),
    (("healthy", "sick"), "sick"),
    (("normal", "intraparenchymal", "subdural"), None),
    (("normal", "abnormal"), "abnormal"),
])
def test_the_positive_class_is_guessed_from_the_names(classes, positive):
    assert guess_positive(classes) == positive


def test_each_source_declares_its_positive_class(rsna, tmp_path):
    assert from_rsna(rsna, "hemorrhage").positive == "hemorrhage"
    assert from_rsna(rsna, "subdural").positive == "subdural"
    assert from_rsna(rsna, "three-class").positive is None
    folder = make_folder(tmp_path / "mine")
    assert from_folder(folder).positive == "bleed"
    overridden = from_folder(folder).with_positive("normal")
    assert overridden.positive == "normal" and overridden.positive_index() == 1
    with pytest.raises(DataError, match="'cat' is not one of"):
        from_folder(folder).with_positive("cat")


def test_training_settings_refuse_what_cannot_train():
    assert TEACHABLE_MACHINE == TrainingSettings(epochs=50, batch_size=16, learning_rate=0.001)
    assert str(TEACHABLE_MACHINE) == "50 epochs, batch size 16, learning rate 0.001"
    assert str(TrainingSettings(epochs=15, batch_size=16, learning_rate=0.00003)).endswith("learning rate 0.00003")
    assert TEACHABLE_MACHINE.replace(epochs=15, learning_rate=None).epochs == 15
    with pytest.raises(SettingsError, match=r"epochs must be a whole number >= 1 \(got 0\).*batch_size"):
        TrainingSettings(epochs=0, batch_size=0, learning_rate=0.001)
    with pytest.raises(SettingsError, match=r"learning_rate must be > 0 \(got 'fast'\)"):
        TEACHABLE_MACHINE.replace(learning_rate="fast")


def test_subsets_and_new_preprocessing_leave_the_original_alone(rsna):
    data = from_rsna(rsna, "hemorrhage")
    small = data.subset([0, 1])
    colour = data.with_preprocess(Preprocess(color_code=True))
    assert len(data) == 20 and len(small) == 2 and data.preprocess == Preprocess()
    assert colour.items == data.items and colour.preprocess.color_code
    with pytest.raises(AttributeError):
        data.name = "changed"  # frozen: a data set never changes under its users
    kept = from_rsna(rsna, "three-class").keep_classes(["normal", "subdural"])
    assert kept.counts() == {"normal": 12, "subdural": 4} and kept.positive == "subdural"
    with pytest.raises(DataError, match=r"Classes \['cat'\] are not in"):
        data.keep_classes(["cat"])


def test_the_image_reader_opens_each_archive_once_and_closes_it(tmp_path):
    data = from_folder(make_folder(tmp_path / "mine"))
    project = write_tm(data, tmp_path / "mine.tm")
    packed = read_tm(project)
    with ImageReader(packed) as reader:
        first, second = reader.image(0), reader.image(1)
        archive = reader._archives[project]
        assert len(reader._archives) == 1 and archive.fp is not None
    assert archive.fp is None  # closed on leaving the block
    assert first.shape == second.shape == (224, 224, 3)
    project.unlink()  # nothing holds the file open any more
    with pytest.raises(DataError, match="Cannot read 'mine.tm:.*Download or copy it again"):
        packed.image(0)


# --- splits ---------------------------------------------------------------------------------------


def test_teachable_split_takes_ceil_15_percent_per_class_deterministically():
    labels = np.array([0] * 30 + [1] * 1000 + [2] * 80)
    train, test = teachable_split(labels, seed=3)
    assert np.bincount(labels[test]).tolist() == [5, 150, 12]  # ceil(4.5), 150, 12
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(labels)
    again = teachable_split(labels, seed=3)
    np.testing.assert_array_equal(again[1], test)
    assert not np.array_equal(teachable_split(labels, seed=4)[1], test)


def test_patient_split_keeps_each_patient_on_one_side(rsna):
    data = from_rsna(rsna, "hemorrhage")
    train, test = split(data, "patient", seed=0, test_fraction=0.3)
    patients = np.array(data.patient_ids())
    assert set(patients[train]).isdisjoint(patients[test])
    assert len(test) >= 6 and len(train) + len(test) == len(data)
    np.testing.assert_array_equal(patient_split(patients, seed=0, test_fraction=0.3)[1], test)
    tests = {tuple(patient_split(patients, seed=s, test_fraction=0.3)[1]) for s in range(6)}
    assert len(tests) > 1
    with pytest.raises(SettingsError, match="split must be one of"):
        split(data, "random", seed=0)
    with pytest.raises(SettingsError, match=r"test_fraction must lie between 0 and 1 \(got 15\)"):
        split(data, "teachable", seed=0, test_fraction=15)


def test_patients_come_from_dicom_headers_without_slices_csv(tmp_path):
    root = make_rsna(tmp_path / "kaggle", patients_csv=False)
    data = from_rsna(root, "hemorrhage")
    assert all(item.patient_id is None for item in data.items)
    assert data.patient_ids() == [("P" + str(int(item.id[4:]) % 4)) if item.id != "ID_x000" else "P3"
                                  for item in data.items]


def test_patient_split_needs_known_patients(tmp_path):
    folder = tmp_path / "pngs"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(folder / name / "1.png")
    with pytest.raises(DataError, match="patient split needs DICOM"):
        split(from_folder(folder), "patient", seed=0)


# --- folders of class folders ---------------------------------------------------------------------


def make_folder(root):
    """Two classes: PNG and JPEG in 'bleed', PNG and DICOM in 'normal', and a notes file."""
    (root / "bleed").mkdir(parents=True)
    (root / "normal").mkdir()
    Image.new("RGB", (300, 200), (200, 30, 30)).save(root / "bleed" / "a.png")
    Image.new("L", (64, 64), 90).save(root / "bleed" / "b.JPG")
    Image.new("RGB", (64, 64), (10, 10, 10)).save(root / "normal" / "c.png")
    write_ct(root / "normal" / "d.dcm", np.full((32, 32), 1064, np.int16))
    (root / "normal" / "notes.txt").write_text("ignored")
    return root


def test_folder_of_class_folders(tmp_path):
    data = from_folder(make_folder(tmp_path / "mine"))
    assert data.classes == ("bleed", "normal")
    assert data.counts() == {"bleed": 2, "normal": 2}
    assert data.labels().tolist() == [0, 0, 1, 1]
    images = data.images()
    assert images.shape == (4, 224, 224, 3)
    assert tuple(images[0, 112, 112]) == (200, 30, 30)


def test_folder_skips_unreadable_images_with_one_warning(tmp_path):
    root = make_folder(tmp_path / "mine")
    (root / "bleed" / "broken.png").write_bytes(b"\x89PNG not really")
    (root / "normal" / "broken.dcm").write_bytes(b"\0" * 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = from_folder(root)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert "Skipped 2 file(s)" in messages[0]
    assert "bleed/broken.png" in messages[0] and "normal/broken.dcm" in messages[0]
    assert data.counts() == {"bleed": 2, "normal": 2}


def test_folder_class_without_images_is_an_error(tmp_path):
    root = make_folder(tmp_path / "mine")
    (root / "empty").mkdir()
    with pytest.raises(DataError, match=r"Class\(es\) \['empty'\].*no readable images"):
        from_folder(root)


def test_folder_with_one_class_is_an_error(tmp_path):
    (tmp_path / "only").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "only" / "x.png")
    with pytest.raises(DataError, match="at least two"):
        from_folder(tmp_path)


# --- the built-in cohort's own files --------------------------------------------------------------


def test_reads_the_cohort_that_synthetic_writes(tmp_path):
    root = build_cohort(tmp_path / "cohort", scale=0.01, workers=1).path
    data = from_rsna(root, "hemorrhage")
    assert len(data) == len(list((root / "stage_2_train").glob("*.dcm")))
    assert sum(data.counts().values()) == len(data) and min(data.counts().values()) > 0
    for item in data.items[:3]:  # patients from slices.csv agree with the DICOM headers
        assert item.patient_id == _dicom_patient_id(item)
    train, test = split(data, "patient", seed=0)
    patients = np.array(data.patient_ids())
    assert set(patients[train]).isdisjoint(patients[test])
    assert data.image(0).shape == (224, 224, 3)


def test_painting_the_truth_reads_each_slices_mask_and_explains_a_source_without(tmp_path):
    root = make_rsna(tmp_path / "rsna")
    (root / "masks").mkdir()
    data = from_rsna(root, "hemorrhage")
    for item in data.items:
        truth = np.zeros((32, 32), np.uint8)
        truth[:, :16] = 1 if item.label == "hemorrhage" else 0
        Image.fromarray(truth).save(item.mask)
    painted = data.with_preprocess(Preprocess(color_code=True, paint="truth"))
    bleed = painted.labels().tolist().index(1)
    red = np.all(painted.image(bleed) == (255, 0, 0), axis=2)
    assert red[:, :100].all() and not red[:, 124:].any()  # the left half, resized to 224
    assert not np.all(painted.image(painted.labels().tolist().index(0)) == (255, 0, 0), axis=2).any()
    data.items[0].mask.unlink()
    with pytest.raises(DataError, match="Cannot read the mask of .* rsna-workshop data build --force"):
        painted.image(0)
    no_masks = from_rsna(make_rsna(tmp_path / "plain"), "hemorrhage")
    with pytest.raises(DataError, match="has no ground-truth mask: .*built-in synthetic cohort only"):
        no_masks.with_preprocess(Preprocess(color_code=True, paint="truth")).image(0)
