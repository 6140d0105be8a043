"""The browser's icon: /favicon.ico is a real icon at the site's root, and every page links a static one."""

from __future__ import annotations

import re

from django.urls import reverse


def test_favicon_ico_answers_with_an_icon(client):
    response = client.get("/favicon.ico")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert body[:4] == b"\x00\x00\x01\x00"  # the ICO header: reserved 0, type 1 (icon)
    assert int.from_bytes(body[4:6], "little") == 3  # 16, 32 and 48 pixels


def test_pages_link_a_static_svg_icon_that_is_served(client):
    page = client.get(reverse("login")).content.decode()
    links = re.findall(r'<link rel="icon" href="([^"]+)"', page)
    assert "data:" not in page.split("<title>")[0]
    assert links == ["/static/favicon.svg", "/favicon.ico"]
    response = client.get(links[0])
    body = b"".join(response.streaming_content)
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert body.startswith(b"<svg ")
