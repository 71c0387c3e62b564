"""The deployment zip: what the Lambda runtime provides is left out, and the zip may not exceed 30 MB."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.unit.test_package import ROOT, package, run_cli

bundle = package.bundle
PACKAGED_ZIP = ROOT / "out" / "deployment.zip"


def _zip(path: Path, names: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in names.items():
            archive.writestr(name, data)
    return path


def test_slim_leaves_out_the_runtimes_sdk_unused_modules_and_build_files(tmp_path):
    path = _zip(tmp_path / "deployment.zip", {
        "app.py": b"app", "chalicelib/config.py": b"c",
        "boto3/__init__.py": b"x" * 5000, "boto3-1.44.5.dist-info/METADATA": b"m",
        "botocore/data/s3/service-2.json": b"{}" * 5000, "botocore-1.44.8.dist-info/RECORD": b"r",
        "s3transfer/__init__.py": b"s", "s3transfer-0.19.3.dist-info/METADATA": b"m",
        "PIL/Image.py": b"p", "pillow-13.0.0.dist-info/METADATA": b"m",
        "lxml/objectify.cpython-311-x86_64-linux-gnu.so": b"o", "lxml/html/__init__.py": b"h",
        "lxml/isoschematron/__init__.py": b"i", "lxml/includes/tree.h": b"h", "fontTools/cu2qu/cu2qu.c": b"c",
        "lxml/etree.pyx": b"x", "lxml/etree.pyi": b"x",
        # Kept: a distribution whose name starts like a dropped one, Powertools' own dependency, what lxml runs on.
        "boto3_extensions/__init__.py": b"keep", "jmespath/__init__.py": b"keep", "dateutil/tz.py": b"keep",
        "lxml/etree.cpython-311-x86_64-linux-gnu.so": b"keep", "lxml/htmlfoo.py": b"keep",
    })
    before, after = bundle.slim(path)
    assert after < before
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert archive.read("app.py") == b"app"
    assert names == {"app.py", "chalicelib/config.py", "boto3_extensions/__init__.py", "jmespath/__init__.py",
                     "dateutil/tz.py", "lxml/etree.cpython-311-x86_64-linux-gnu.so", "lxml/htmlfoo.py"}


def test_every_pdf_signing_and_xml_path_runs_without_the_modules_the_zip_leaves_out():
    """What bundle.UNUSED_MODULES leaves out must stay unused: the tests that render, sign and parse run without."""
    tests = ["tests/unit/test_pdf.py", "tests/unit/test_receipt_pades.py", "tests/unit/test_receipt_signing.py",
             "tests/unit/test_receipt_xml.py", "tests/unit/test_receipt_qr.py", "tests/unit/test_receipt_access.py",
             "tests/unit/test_citizen_accounts.py", "tests/unit/test_onboarding_evidence.py"]
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "blocked_imports.py"), ",".join(bundle.UNUSED_MODULES), *tests],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout


def test_a_zip_over_the_limit_is_refused_naming_the_largest_parts(tmp_path):
    path = _zip(tmp_path / "deployment.zip", {"fontTools/big.bin": os.urandom(20_000), "app.py": b"a"})
    assert bundle.check_size(path, limit=10**6) == path.stat().st_size
    with pytest.raises(bundle.BundleError, match="fontTools"):
        bundle.check_size(path, limit=1000)
    assert bundle.MAX_ZIP_BYTES == 30_000_000


def test_cli_fails_when_the_zip_is_too_large(tmp_path, monkeypatch):
    from tests.unit.test_package import fake_sam

    path = _zip(tmp_path / "deployment.zip", {"app.py": b"a"})
    assert run_cli(tmp_path, fake_sam(), "--zip", str(path)).returncode == 0
    monkeypatch.setattr(bundle, "MAX_ZIP_BYTES", 10)
    src = tmp_path / "sam.json"
    assert package.main(["--stage", "prod", "--in", str(src), "--out", str(src), "--zip", str(path)]) == 1


@pytest.mark.skipif(not PACKAGED_ZIP.exists(), reason="no out/deployment.zip: `make package` builds and checks it")
def test_the_packaged_zip_is_within_budget():
    assert bundle.check_size(PACKAGED_ZIP) <= bundle.MAX_ZIP_BYTES
    with zipfile.ZipFile(PACKAGED_ZIP) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert not tops & {"boto3", "botocore", "s3transfer"}
    assert "phonenumbers" in tops and not any(t.startswith("phonenumbers/geodata") for t in tops)


def test_the_lite_phone_metadata_is_what_ships():
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pins = {line.split("==")[0] for line in requirements if "==" in line}
    assert "phonenumberslite" in pins and "phonenumbers" not in pins
    from chalicelib.core.phones import normalise_mobile

    assert normalise_mobile("0912 345 678") == "+84912345678"  # Vietnamese mobiles still validate


def test_fpdf_without_pillow_logs_no_warning():
    """The zip has no Pillow: fpdf2 would warn on every cold start. Imported our way, it is silent."""
    code = ("import sys, warnings\n"
            "sys.path.insert(0, 'tests')\n"
            "from blocked_imports import _Blocker\n"
            "sys.meta_path.insert(0, _Blocker(['PIL']))\n"
            "warnings.simplefilter('error')\n"
            "from chalicelib.core.fonts import fpdf_class\n"
            "assert fpdf_class().__name__ == 'FPDF'\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    bare = subprocess.run([sys.executable, "-c", code.replace("from chalicelib.core.fonts import fpdf_class\n"
                                                              "assert fpdf_class().__name__ == 'FPDF'\n",
                                                              "import fpdf\n")],
                          cwd=ROOT, capture_output=True, text=True, check=False, timeout=60)
    assert bare.returncode != 0 and "Pillow could not be imported" in bare.stderr  # the warning we silence
