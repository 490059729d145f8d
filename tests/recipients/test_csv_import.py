from __future__ import annotations

from service.content import ContentLibrary
from service.recipients.csv_import import normalise_phone, read_recipients


def read(text: str, library: ContentLibrary, *, bom: bool = True) -> tuple[list, list[str]]:
    data = (("\ufeff" if bom else "") + text).encode("utf-8")
    result = read_recipients(data, library.languages, library.audiences)
    return result.recipients, [str(e) for e in result.errors]


def test_swedish_excel_csv_with_bom_and_semicolons(library: ContentLibrary) -> None:
    recipients, errors = read(
        "Name;Phone;Email;Languages;Audiences\r\n"
        "Anna Andersson;070-123 45 67;;sv;easy-read\r\n"
        "Ahmed Ali;+46 73 987 65 43;ahmed@example.se;ar|sv;general-public|hearing-impaired\r\n"
        ";;;;\r\n",
        library,
    )
    assert errors == []
    assert [r.phone for r in recipients] == ["+46701234567", "+46739876543"]
    assert recipients[1].languages == ("ar", "sv")
    assert recipients[1].audiences == ("general-public", "hearing-impaired")


def test_commas_without_bom(library: ContentLibrary) -> None:
    recipients, errors = read("name,email\nBo,bo@example.se\n", library, bom=False)
    assert errors == [] and recipients[0].email == "bo@example.se"


def test_every_bad_row_is_reported_with_its_line(library: ContentLibrary) -> None:
    _, errors = read(
        "name;phone;email;languages;audiences\n"
        "Anna;070-123 45 67;;sv;easy-read\n"
        "Bo;12;;sv;\n"
        ";070-123 45 67;;sv;\n"
        "Cilla;;cilla(at)example.se;sv;\n"
        "Dan;070-123 45 68;;klingon;\n"
        "Eva;070-123 45 69;;sv;martians\n"
        "Fia;;;sv;\n",
        library,
    )
    assert errors == [
        "line 3: phone '12' is not a valid number",
        "line 4: name is empty",
        "line 5: e-mail 'cilla(at)example.se' is not an e-mail address",
        "line 6: unknown language 'klingon'",
        "line 7: unknown audience 'martians'",
        "line 8: give a phone number or an e-mail address",
    ]


def test_unknown_columns_and_wrong_encoding_are_refused(library: ContentLibrary) -> None:
    _, errors = read("name;telefon\nAnna;070\n", library)
    assert errors[0].startswith("line 1: unknown column: telefon")
    result = read_recipients("name\nÅsa\n".encode("latin-1"), library.languages, library.audiences)
    assert "not UTF-8" in str(result.errors[0])


def test_local_swedish_numbers_become_e164() -> None:
    assert normalise_phone("021-39 00 00") == "+4621390000"
    assert normalise_phone("0046 70 123 45 67") == "+46701234567"


def test_areas_by_code_and_postal_code_with_legal_basis_and_active(library: ContentLibrary) -> None:
    data = (
        "\ufeffname;email;areas;postal_code;legal_basis;active\r\n"
        "Anna;anna@example.se;skultuna|barkaro;;samtycke;ja\r\n"
        "Bo;bo@example.se;;722 10;LSS;nej\r\n"
        "Cilla;cilla@example.se;dingtuna;72597;;\r\n"
        "Dan;dan@example.se;atlantis;;;\r\n"
        "Eva;eva@example.se;;111 11;;\r\n"
        "Fia;fia@example.se;;;;kanske\r\n"
    ).encode()
    # No AreaMap given: the configured areas file is used.
    result = read_recipients(data, library.languages, library.audiences)
    assert [(r.line, r.areas, r.legal_basis, r.active) for r in result.rows] == [
        (2, ("skultuna", "barkaro"), "samtycke", True),
        (3, ("vasteras-centrum",), "LSS", False),
        (4, ("dingtuna",), "", True),
    ]
    assert [r.name for r in result.recipients] == ["Anna", "Cilla"]  # whom a send reaches
    assert [str(e) for e in result.errors] == [
        "line 5: unknown area 'atlantis'",
        "line 6: postal code '111 11' is in no area of the areas file",
        "line 7: active 'kanske' is neither yes nor no",
    ]


def test_formula_guard_and_duplicate_external_ids(library: ContentLibrary) -> None:
    recipients, errors = read(
        "external_id;name;email\nA1;'=Anna;a@example.se\nA1;Bo;b@example.se\n", library
    )
    assert [r.name for r in recipients] == ["=Anna"]
    assert errors == ["line 3: external_id 'A1' is also on line 2"]


def test_a_row_with_several_bad_cells_names_every_one(library: ContentLibrary) -> None:
    _, errors = read(
        "name;phone;email;languages;audiences\nBo;12;bo(at)example.se;klingon;martians\n",
        library,
    )
    assert len(errors) == 1
    for part in ("phone '12'", "e-mail 'bo(at)example.se'", "'klingon'", "'martians'"):
        assert part in errors[0], errors[0]


def test_control_characters_and_bidi_overrides_are_refused_in_cells(
    library: ContentLibrary,
) -> None:
    _, errors = read(
        "name;phone\nAnna\u202eAndersson;070-123 45 67\nBo\x00;070-123 45 68\n", library
    )
    assert len(errors) == 2
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in errors[0]
    assert "U+0000 NULL" in errors[1]
