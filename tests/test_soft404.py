from crawler.soft404 import looks_like_soft_404


def test_short_not_found_pages_are_soft_404s():
    assert looks_like_soft_404("Page Not Found | Acme", "Sorry, we could not find that page.")
    assert looks_like_soft_404("Acme", "# 404\n\nThe page you requested does not exist.")
    assert looks_like_soft_404("Acme - Error", "## Page cannot be found\n\nTry our home page.")


def test_real_policies_are_not():
    policy = " ".join(["We collect personal information when you use our services."] * 30)
    assert not looks_like_soft_404("Privacy Policy", policy)
    assert not looks_like_soft_404("Privacy Policy", "# Privacy\n\nWe do not sell data. " * 3)
    assert not looks_like_soft_404("404 Media privacy policy", policy + " Error 404 pages are logged.")
