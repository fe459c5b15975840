import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ris.models import AuditEvent
from ris.records import Actor
from ris.research import ExportOptions
from ris.services.research_export import ExportSelection, research_export
from worklist.deidentify import deidentify_dose_sr


class Command(BaseCommand):
    help = (
        "Write a de-identified research export (PS3.15 Annex E) of the selected exams' orders, "
        "reports and dose records, with the dose SRs as DICOM, to a zip file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output", help="the zip file to write")
        parser.add_argument("--procedure", default="", help="procedure code (catalogue code, OBR-4)")
        parser.add_argument("--modality", default="")
        parser.add_argument("--from", dest="start", type=dt.date.fromisoformat, help="first exam day, YYYY-MM-DD")
        parser.add_argument("--until", dest="end", type=dt.date.fromisoformat, help="last exam day, YYYY-MM-DD")
        parser.add_argument(
            "--remove-dates", action="store_true", help="Basic Profile dates: removed instead of shifted per patient"
        )
        parser.add_argument("--clean-descriptors", action="store_true", help="keep descriptions, scrubbed")
        parser.add_argument("--user", default="", help="the user name the audit trail records as exporter")

    def handle(self, *args: Any, output: str, **options: Any) -> None:
        actor = self._actor(options["user"])
        selection = ExportSelection(
            procedure_code=options["procedure"],
            modality=options["modality"],
            start=options["start"],
            end=options["end"],
        )
        chosen = ExportOptions(
            retain_dates_modified=not options["remove_dates"], clean_descriptors=options["clean_descriptors"]
        )
        with open(output, "wb") as out:
            summary = research_export(
                selection=selection, options=chosen, actor=actor, out=out, clean_dicom=deidentify_dose_sr
            )
        self.stdout.write(
            f"export {summary.export_id}: {summary.patients} patients, {summary.exams} exams, "
            f"{summary.reports} report versions, {summary.dose_reports} dose reports, "
            f"{summary.dicom_files} DICOM files -> {output}"
        )
        for skipped in summary.skipped_files:
            self.stderr.write(f"left out: {skipped}")

    def _actor(self, username: str) -> Actor:
        if not username:
            return Actor(door=AuditEvent.Door.SYSTEM, name="research_export command")
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username}")
        return Actor(door=AuditEvent.Door.SYSTEM, user=user, via="research_export command")
