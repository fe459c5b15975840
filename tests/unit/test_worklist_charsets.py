from pydicom.dataset import Dataset

from worklist.charsets import declare, degrade, fits


def test_latin1_carries_western_letters_but_not_kanji():
    assert fits("MÜLLER", "ISO_IR 100")
    assert not fits("山田", "ISO_IR 100")


def test_iso_2022_ir_87_carries_kanji_and_hiragana():
    assert fits("山田^太郎やまだ", "\\ISO 2022 IR 87")


def test_degrading_strips_only_the_accents_the_set_lacks():
    assert degrade("DVOŘÁK", "ISO_IR 100") == "DVORÁK"
    assert degrade("ŁÓDŹ", "") == "?ODZ"


def test_declare_sets_multi_valued_iso_2022_and_drops_groups_that_do_not_fit():
    ds = Dataset()
    ds.PatientName = "Yamada^Tarou=山田^太郎"
    declare(ds, "ISO_IR 100")
    assert ds.SpecificCharacterSet == "ISO_IR 100"
    assert str(ds.PatientName) == "Yamada^Tarou"
    declare(ds, "\\ISO 2022 IR 87")
    assert ds.SpecificCharacterSet == ["", "ISO 2022 IR 87"]
