"""Office attachments (.docx, .xlsx, .odt, .ods) are zip archives: a ``PK`` signature says
nothing of what is inside. They are opened here, without extracting anything, and refused when
they are a zip bomb, not the document they claim to be, carry a program, or carry macros under
an extension that promises none."""

import zipfile
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

OOXML = {".docx", ".xlsx", ".pptx"}
OPENDOCUMENT = {".odt": "application/vnd.oasis.opendocument.text",
                ".ods": "application/vnd.oasis.opendocument.spreadsheet",
                ".odp": "application/vnd.oasis.opendocument.presentation"}
EXTENSIONS = OOXML | set(OPENDOCUMENT)

# Programs a recipient could run by opening the archive's content.
_PROGRAM_EXTENSIONS = {".exe", ".dll", ".com", ".scr", ".msi", ".bat", ".cmd", ".ps1", ".vbs",
                       ".vbe", ".js", ".jse", ".wsf", ".hta", ".jar", ".sh", ".so", ".elf",
                       ".lnk", ".cpl", ".pif"}
_PROGRAM_SIGNATURES = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe",
                       b"\xca\xfe\xba\xbe")
_MACRO_NAMES = {"vbaproject.bin", "vbadata.xml", "vbaprojectsignature.bin"}


def office_file_problem(upload, name: str, extension: str) -> ValidationError | None:
    """Why the office file ``upload`` (a file object, rewound afterwards) is refused — a
    translated ValidationError whose code is "content", "zip_bomb", "program" or "macro" —
    or None."""
    try:
        with zipfile.ZipFile(upload) as archive:
            return _archive_problem(archive, name, extension)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError):
        return _not_really(name, extension)
    finally:
        upload.seek(0)


def _archive_problem(archive: zipfile.ZipFile, name: str, extension: str
                     ) -> ValidationError | None:
    entries = archive.infolist()
    # Sizes as declared: zipfile never decompresses an entry past its declared size (a lie
    # ends in a CRC error), so the declared total bounds what opening the file costs.
    expanded = sum(entry.file_size for entry in entries)
    compressed = sum(entry.compress_size for entry in entries)
    limit = settings.MAILING_OFFICE_MAX_UNCOMPRESSED
    if expanded > limit or expanded > settings.MAILING_OFFICE_MAX_RATIO * max(compressed, 1):
        return ValidationError(_(
            "“%(name)s” expands to %(size)s once opened (at most %(max)s, and %(ratio)s times "
            "its size): it looks like a zip bomb.") % {
            "name": name, "size": filesizeformat(expanded), "max": filesizeformat(limit),
            "ratio": settings.MAILING_OFFICE_MAX_RATIO}, code="zip_bomb")
    names = {entry.filename for entry in entries}
    if extension in OOXML and "[Content_Types].xml" not in names:
        return _not_really(name, extension)
    if extension in OPENDOCUMENT and ("mimetype" not in names or archive.read("mimetype")[:100]
                                      .strip() != OPENDOCUMENT[extension].encode()):
        return _not_really(name, extension)
    for entry in entries:
        path = PurePosixPath(entry.filename)
        lowered = entry.filename.lower()
        if path.name.lower() in _MACRO_NAMES or lowered.startswith(("basic/", "scripts/")):
            return _macro_problem(name, extension)
        if path.suffix.lower() in _PROGRAM_EXTENSIONS:
            return _program_problem(name)
        if not entry.is_dir() and entry.file_size:
            with archive.open(entry) as member:
                head = member.read(4)
            if head.startswith(_PROGRAM_SIGNATURES):
                return _program_problem(name)
    if "[Content_Types].xml" in names:
        types = archive.read("[Content_Types].xml").lower()
        if b"macroenabled" in types or b"vbaproject" in types:
            return _macro_problem(name, extension)
    return None


def _not_really(name: str, extension: str) -> ValidationError:
    return ValidationError(_("“%(name)s” is not really a %(ext)s file.") % {
        "name": name, "ext": extension}, code="content")


def _macro_problem(name: str, extension: str) -> ValidationError:
    return ValidationError(_("“%(name)s” contains macros, which a %(ext)s file must not: save "
                             "it without macros.") % {"name": name, "ext": extension},
                           code="macro")


def _program_problem(name: str) -> ValidationError:
    return ValidationError(_("“%(name)s” contains a program: it cannot be attached.") % {
        "name": name}, code="program")
