"""The embedded mode writes each e-mail as an .eml file under EMAIL_FILE_PATH."""

import email

from django.core.mail import EmailMultiAlternatives


def test_the_file_backend_writes_one_eml_file_per_message(settings, tmp_path):
    settings.EMAIL_BACKEND = "finops.notifications.backends.EmlFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    message = EmailMultiAlternatives("Variance alert", "Rent is 12 % over budget.", "finops@localhost",
                                     ["director@acme.test"])
    message.attach_alternative("<p>Rent is <b>12 %</b> over budget.</p>", "text/html")
    assert message.send() == 1
    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1
    parsed = email.message_from_bytes(files[0].read_bytes())
    assert parsed["Subject"] == "Variance alert"
    assert parsed["To"] == "director@acme.test"
    assert [part.get_content_type() for part in parsed.walk()][1:] == ["text/plain", "text/html"]
