"""The pages' Content-Security-Policy allows styles from our own files only (style-src 'self'), so
an inline `style="…"` attribute or a <style> block in a page template is silently ignored by the
browser. E-mail templates are the exception: mail clients need inline styles."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "templates"
EMAIL_TEMPLATES = {"emails", "registration/password_reset_email.html"}


def is_email(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return any(relative == e or relative.startswith(e + "/") for e in EMAIL_TEMPLATES)


def test_page_templates_use_no_inline_styles():
    offenders = []
    for path in sorted(ROOT.rglob("*.html")):
        if is_email(path):
            continue
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if ' style="' in line or "<style" in line:
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    assert offenders == []
