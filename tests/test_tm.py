"""Teachable Machine project files: round trip, hostile archives, and the original projects' download."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from helpers import make_rsna

from rsna_workshop.datasets import (
    ORIGINAL_PROJECTS,
    TrainingSettings,
    download,
    download_project,
    from_rsna,
    read_tm,
    tm,
    write_tm,
)
from rsna_workshop.errors import DataError

MANIFEST = {"type": "image", "version": "2.4.5",
            "appdata": {"trainEpochs": 30, "trainBatchSize": 32, "trainLearningRate": 0.0005}}


def jpeg(value=(120, 60, 30), size=(224, 224)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, value).save(buffer, format="JPEG")
    return buffer.getvalue()


def make_tm(path, members, manifest=MANIFEST, compression=zipfile.ZIP_STORED):
    """A zip with ``manifest`` (unless None) and ``members`` (name to bytes)."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        if manifest is not None:
            archive.writestr("manifest.json", json.dumps(manifest))
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.fixture
def project(tmp_path):
    members = {
        "Normal-!-0.jpg": jpeg((20, 20, 20)),
        "Normal-!-1.jpg": jpeg((40, 40, 40)),
        "Bleed here-!-0.png": jpeg((200, 0, 0)),  # a .png name holding a JPEG still reads
        "Normal-!-10.jpg": jpeg((60, 60, 60)),
    }
    return make_tm(tmp_path / "project.tm", members)


def test_read_tm_classes_counts_and_hyperparameters(project):
    data = read_tm(project)
    assert data.classes == ("Normal", "Bleed here")
    assert data.counts() == {"Normal": 3, "Bleed here": 1}
    assert [item.member for item in data.items] == [
        "Normal-!-0.jpg", "Normal-!-1.jpg", "Normal-!-10.jpg", "Bleed here-!-0.png"]
    assert data.settings == TrainingSettings(epochs=30, batch_size=32, learning_rate=0.0005)
    assert data.positive == "Bleed here"
    assert abs(int(data.image(2)[100, 100, 0]) - 60) <= 2
    assert data.items[0].source == project and data.name == "project"


def test_manifest_without_appdata_gives_teachable_machine_defaults(tmp_path):
    path = make_tm(tmp_path / "p.tm", {"a-!-0.jpg": jpeg(), "b-!-0.jpg": jpeg()}, {"type": "image"})
    assert read_tm(path).settings == TrainingSettings(epochs=50, batch_size=16, learning_rate=0.001)


def test_round_trip_keeps_classes_counts_pixels_and_hyperparameters(tmp_path):
    source = from_rsna(make_rsna(tmp_path / "rsna"), "three-class")
    path = write_tm(source, tmp_path / "out" / "three.tm", epochs=75, batch_size=16, learning_rate=0.002)
    back = read_tm(path)
    assert back.classes == source.classes
    assert back.counts() == source.counts()
    assert back.settings == TrainingSettings(epochs=75, batch_size=16, learning_rate=0.002)
    for i in (0, 13, len(source) - 1):
        assert back.items[i].label == source.items[i].label
        error = np.abs(back.image(i).astype(int) - source.image(i).astype(int))
        assert error.mean() < 2 and error.max() < 40  # JPEG at quality 95
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert names[0] == "manifest.json"
        assert json.loads(archive.read("manifest.json"))["type"] == "image"
        assert "intraparenchymal-!-2.jpg" in names and "subdural-!-0.jpg" in names
    assert sorted(p.name for p in path.parent.iterdir()) == ["three.tm"]  # no leftovers


def test_write_defaults_to_the_datasets_own_hyperparameters(project, tmp_path):
    copy = read_tm(write_tm(read_tm(project), tmp_path / "copy.tm"))
    assert copy.settings == TrainingSettings(epochs=30, batch_size=32, learning_rate=0.0005)


def test_failed_write_leaves_nothing_behind(project, tmp_path, monkeypatch):
    data = read_tm(project)
    target = tmp_path / "out" / "x.tm"

    def explode(self, i):
        raise OSError("disk full")

    monkeypatch.setattr(tm.ImageReader, "image", explode)
    with pytest.raises(OSError, match="disk full"):
        write_tm(data, target)
    assert list(target.parent.iterdir()) == []


def test_class_names_that_break_the_file_format_are_refused(project, tmp_path):
    data = read_tm(project)
    renamed = type(data)(("Normal", "a/b"), [], name="renamed")
    with pytest.raises(DataError, match=r"\['a/b'\] cannot be written"):
        write_tm(renamed, tmp_path / "x.tm")


# --- hostile or broken files ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["/etc/evil-!-0.jpg", "../evil-!-0.jpg", "a/../../evil-!-0.jpg",
                                  "C:/evil-!-0.jpg", "..\\evil-!-0.jpg"])
def test_member_names_that_climb_out_are_refused(tmp_path, name):
    path = make_tm(tmp_path / "evil.tm", {"a-!-0.jpg": jpeg(), name: jpeg()})
    with pytest.raises(DataError, match="leave the archive's folder.*Nothing was extracted"):
        read_tm(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tm"]


def test_corrupt_and_truncated_files_are_refused(project, tmp_path):
    garbage = tmp_path / "garbage.tm"
    garbage.write_bytes(b"this is not a zip file" * 100)
    with pytest.raises(DataError, match="not a readable Teachable Machine project"):
        read_tm(garbage)
    truncated = tmp_path / "truncated.tm"
    truncated.write_bytes(project.read_bytes()[: project.stat().st_size // 2])
    with pytest.raises(DataError, match="not a readable .*truncated"):
        read_tm(truncated)


def test_a_damaged_version_field_is_refused_by_name(project, tmp_path):
    data = bytearray(project.read_bytes())
    entry = data.find(b"PK\x01\x02")  # the first central-directory entry
    data[entry + 6:entry + 8] = (84).to_bytes(2, "little")  # "version needed to extract": 8.4
    damaged = tmp_path / "damaged.tm"
    damaged.write_bytes(bytes(data))
    with pytest.raises(DataError, match="'.*damaged.tm' is not a readable Teachable Machine project.*8.4"):
        read_tm(damaged)


def test_password_protected_members_are_refused_by_name(project, tmp_path):
    data = bytearray(project.read_bytes())
    for signature, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local and central headers
        at = data.find(signature)
        while at >= 0:
            data[at + flags] |= 0x1  # general purpose flag bit 0: encrypted
            at = data.find(signature, at + 4)
    locked = tmp_path / "locked.tm"
    locked.write_bytes(bytes(data))
    with pytest.raises(DataError, match="password-protected members .*save the project from Teachable "
                                        "Machine again. Nothing was extracted"):
        read_tm(locked)


def test_a_project_that_may_not_be_read_says_so(project, monkeypatch):
    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(tm.zipfile, "ZipFile", refuse)
    with pytest.raises(DataError, match="Cannot read .*Permission denied.*Check that you may read the file"):
        read_tm(project)


def test_a_damaged_lzma_sample_is_skipped_by_name(tmp_path):
    members = {f"{c}-!-{i}.jpg": jpeg((40 * i, 0, 0)) for c in "ab" for i in range(2)}
    path = make_tm(tmp_path / "lzma.tm", members, compression=zipfile.ZIP_LZMA)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("b-!-1.jpg")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 9:start + 40] = bytes(31)  # inside the compressed stream, past LZMA's properties
    path.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match=r"Skipped 1 file.*b-!-1.jpg"):
        dataset = read_tm(path)
    assert dataset.counts() == {"a": 2, "b": 1}


def test_zip_bombs_are_refused(tmp_path, monkeypatch):
    bomb = make_tm(tmp_path / "bomb.tm", {"a-!-0.jpg": jpeg(), "b-!-0.jpg": b"\0" * 20_000_000},
                   compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(DataError, match=r"expand more than 100x \['b-!-0.jpg'\]"):
        read_tm(bomb)
    monkeypatch.setattr(tm, "MAX_TOTAL_BYTES", 50_000)
    big = make_tm(tmp_path / "big.tm", {f"{c}-!-{i}.jpg": jpeg() for c in "ab" for i in range(30)})
    with pytest.raises(DataError, match=r"MB uncompressed \(the limit is 0.1 MB\)"):
        read_tm(big)


def test_missing_manifest_or_other_project_type_is_refused(tmp_path):
    images = {"a-!-0.jpg": jpeg(), "b-!-0.jpg": jpeg()}
    with pytest.raises(DataError, match="no manifest.json, so it is not a Teachable Machine project"):
        read_tm(make_tm(tmp_path / "none.tm", images, manifest=None))
    with pytest.raises(DataError, match="Teachable Machine audio project; only image projects"):
        read_tm(make_tm(tmp_path / "audio.tm", images, manifest={"type": "audio"}))
    broken = tmp_path / "broken.tm"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("manifest.json", "{not json")
    with pytest.raises(DataError, match="manifest.json in .* cannot be read"):
        read_tm(broken)
    with pytest.raises(DataError, match="trainEpochs to 'many'"):
        manifest = {"type": "image", "appdata": {"trainEpochs": "many"}}
        read_tm(make_tm(tmp_path / "epochs.tm", images, manifest))


def test_undecodable_sample_is_skipped_with_one_warning(tmp_path):
    members = {"a-!-0.jpg": jpeg(), "a-!-1.jpg": b"\xff\xd8broken", "b-!-0.jpg": jpeg(),
               "b-!-1.png": b"nope", "notes.txt": b"hello"}
    path = make_tm(tmp_path / "p.tm", members)
    with pytest.warns(UserWarning) as caught:
        data = read_tm(path)
    messages = " | ".join(str(w.message) for w in caught)
    assert "Skipped 2 file(s)" in messages and "a-!-1.jpg" in messages and "b-!-1.png" in messages
    assert "Ignored 1 member(s)" in messages and "notes.txt" in messages
    assert data.counts() == {"a": 1, "b": 1}


def test_class_left_without_images_is_an_error(tmp_path):
    path = make_tm(tmp_path / "p.tm", {"a-!-0.jpg": jpeg(), "b-!-0.jpg": b"broken"})
    with pytest.raises(DataError, match=r"Class\(es\) \['b'\] in 'p.tm' have no readable images"):
        with pytest.warns(UserWarning, match="Skipped 1"):
            read_tm(path)


# --- the original workshop's projects -------------------------------------------------------------


@pytest.fixture
def published(tmp_path, monkeypatch):
    """A folder standing in for the published projects (file URLs), and an online data folder."""
    monkeypatch.setenv("RSNA_WORKSHOP_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("RSNA_WORKSHOP_OFFLINE", raising=False)
    folder = tmp_path / "published"
    folder.mkdir()
    for name, project in list(ORIGINAL_PROJECTS.items()):
        moved = download.OriginalProject(name, (folder / f"{name}.tm").as_uri(), project.what)
        monkeypatch.setitem(ORIGINAL_PROJECTS, name, moved)
    return folder


def test_download_once_into_the_data_folder(published, tmp_path, project):
    (published / "original-small.tm").write_bytes(project.read_bytes())
    path = download_project("original-small", progress=False)
    assert path == tmp_path / "data" / "downloads" / "original-small.tm"
    assert read_tm(path).counts() == {"Normal": 3, "Bleed here": 1}
    (published / "original-small.tm").unlink()  # a second call does not download again
    assert download_project("original-small", progress=False) == path
    assert sorted(p.name for p in path.parent.iterdir()) == ["original-small.tm"]


def test_download_offline_or_unknown_says_what_to_do(published, tmp_path, monkeypatch):
    with pytest.raises(DataError, match="Cannot download 'original-imbalanced' .*built-in cohort.*copy"):
        download_project("original-imbalanced", progress=False)
    assert list((tmp_path / "data" / "downloads").iterdir()) == []
    monkeypatch.setenv("RSNA_WORKSHOP_OFFLINE", "1")
    with pytest.raises(DataError, match="RSNA_WORKSHOP_OFFLINE is set"):
        download_project("original-imbalanced")
    with pytest.raises(DataError, match="Unknown project 'experiment1'.*original-small, original-imbalanced"):
        download_project("experiment1")


def test_download_that_is_not_a_zip_is_refused(published, tmp_path):
    (published / "original-balanced.tm").write_text("<html>rate limited</html>")
    with pytest.raises(DataError, match="not a .tm \\(zip\\) file"):
        download_project("original-balanced", progress=False)
    assert list((tmp_path / "data" / "downloads").iterdir()) == []


def test_original_projects_point_at_the_published_files():
    assert ORIGINAL_PROJECTS["original-small"].url == (
        "https://github.com/dila-ai/RSNA_2021_Workshop/raw/main/exp/exp_1.tm")
    assert ORIGINAL_PROJECTS["original-color"].url.endswith("RSNA_2021_Workshop/raw/main/exp/exp_5.tm")
    assert ORIGINAL_PROJECTS["original-balanced"].url == (
        "https://github.com/kitamura-felipe/RSNASpotlight2021/raw/main/experiments/experiment3.tm")
    assert all(name.startswith("original-") for name in ORIGINAL_PROJECTS)
