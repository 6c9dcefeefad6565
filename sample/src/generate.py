"""Regenerate ``sample/pages/**`` and ``sample/manifest.json`` from the policy texts in this directory.

The pages are committed as plain files (they are what the archive serves); this script is how they
were made, so that a wording change is made once and every page and expectation stays consistent.
Usage: ``python3 sample/src/generate.py [OUTPUT_DIR]`` (default: ``sample/``). Standard library only.
``tests/test_localarchive.py`` checks that the committed files are exactly what this produces.
"""

import json
import re
import sys
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

sys.dont_write_bytecode = True  # keep sample/ free of __pycache__
sys.path.insert(0, str(Path(__file__).parent))
import text_acme as A  # noqa: E402
import text_birdwatch as B  # noqa: E402
import text_photoshare as P  # noqa: E402

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
PAGES = OUT / "pages"


def blocks(items, indent="  "):
    out, in_list = [], False
    for item in items:
        if item.startswith("- "):
            if not in_list:
                out.append(f"{indent}<ul>")
                in_list = True
            out.append(f"{indent}  <li>{item[2:]}</li>")
        else:
            if in_list:
                out.append(f"{indent}</ul>")
                in_list = False
            out.append(f"{indent}<p>{item}</p>")
    if in_list:
        out.append(f"{indent}</ul>")
    return "\n".join(out)


def body(v, h="h2", indent="  "):
    parts = [blocks(v["intro"], indent)]
    for heading, items in v["sections"]:
        parts.append(f"{indent}<{h}>{heading}</{h}>")
        parts.append(blocks(items, indent))
    return "\n".join(parts)


def http_date(ts):
    when = datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    return format_datetime(when, usegmt=True)


# ---------------------------------------------------------------------------------------------
# Acme Widgets
# ---------------------------------------------------------------------------------------------

def acme_old(v, year, promo_title, promo_text, analytics):
    ga = ""
    if analytics:
        ga = """<script type="text/javascript">
var gaJsHost = (("https:" == document.location.protocol) ? "https://ssl." : "http://www.");
document.write(unescape("%3Cscript src='" + gaJsHost + "google-analytics.com/ga.js' type='text/javascript'%3E%3C/script%3E"));
</script>
<script type="text/javascript">
try { var pageTracker = _gat._getTracker("UA-0000000-1"); pageTracker._trackPageview(); } catch(err) {}
</script>
"""
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<title>Acme Widgets - Privacy Policy</title>
<meta name="keywords" content="widgets, sprockets, garden tools, hardware, online store" />
<link rel="stylesheet" type="text/css" href="/css/main.css" />
<script type="text/javascript" src="/js/prototype.js"></script>
</head>
<body>
<div id="header">
  <a href="/"><img src="/images/acme-logo.gif" alt="Acme Widgets" width="180" height="60" border="0" /></a>
  <div id="search">
    <form action="/search" method="get"><input type="text" name="q" size="20" /> <input type="submit" value="Search" /></form>
  </div>
  <div id="cartlink"><a href="/cart">Your Cart</a> | <a href="/account">My Account</a></div>
</div>
<div id="nav">
  <ul>
    <li><a href="/">Home</a></li>
    <li><a href="/shop/widgets/">Widgets</a></li>
    <li><a href="/shop/sprockets/">Sprockets</a></li>
    <li><a href="/shop/garden/">Garden</a></li>
    <li><a href="/specials/">Specials</a></li>
    <li><a href="/help/">Help</a></li>
  </ul>
</div>
<div id="wrapper">
<div id="sidebar">
  <div class="promo">
    <h3>{promo_title}</h3>
    <p>{promo_text}</p>
  </div>
  <h3>Customer Service</h3>
  <ul>
    <li><a href="/help/shipping.html">Shipping Rates</a></li>
    <li><a href="/help/returns.html">Returns &amp; Exchanges</a></li>
    <li><a href="/help/orders.html">Order Status</a></li>
    <li><a href="/contact.html">Contact Us</a></li>
  </ul>
</div>
<div id="content">
  <h1>Privacy Policy</h1>
  <p class="updated"><i>{v["updated"]}</i></p>
{body(v)}
</div>
</div>
<div id="footer">
  <p><a href="/about/">About Acme</a> | <a href="/privacy.html">Privacy Policy</a> | <a href="/terms.html">Terms of Use</a> | <a href="/contact.html">Contact</a> | <a href="/sitemap.html">Site Map</a></p>
  <p>Copyright &copy; {year} Acme Widgets, Inc. All rights reserved.</p>
</div>
{ga}</body>
</html>
"""


def acme_new(v, year, cookie_banner, notice_link):
    banner = ""
    if cookie_banner:
        banner = """<div id="cookie-banner" class="cookie-banner" role="dialog" aria-label="Cookie consent">
  <p>We use cookies to improve your experience and to show you relevant ads. <a href="/legal/cookies">Cookie Settings</a></p>
  <button type="button" class="btn accept">Accept all</button> <button type="button" class="btn reject">Reject non-essential</button>
</div>
"""
    extra_footer = f'\n        <li><a href="{notice_link[0]}">{notice_link[1]}</a></li>' if notice_link else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Privacy Policy | Acme Widgets</title>
  <link rel="canonical" href="http://acme.example/legal/privacy">
  <link rel="stylesheet" href="/assets/site.min.css">
  <script async src="https://www.googletagmanager.com/gtag/js?id=G-ACME000000"></script>
  <script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}} gtag('js', new Date()); gtag('config', 'G-ACME000000');</script>
</head>
<body class="page-legal">
{banner}<header class="site-header">
  <a class="logo" href="/"><img src="/assets/acme-logo.svg" alt="Acme Widgets"></a>
  <form class="search" action="/search"><input type="search" name="q" placeholder="Search widgets, sprockets and more"><button>Search</button></form>
  <nav class="site-nav">
    <a href="/shop/widgets">Widgets</a> <a href="/shop/sprockets">Sprockets</a> <a href="/shop/garden">Garden</a>
    <a href="/deals">Deals</a> <a href="/stores">Find a Store</a> <a href="/account">Sign In</a> <a href="/cart">Cart (0)</a>
  </nav>
</header>
<div class="breadcrumbs"><a href="/">Home</a> &rsaquo; <a href="/legal">Legal</a> &rsaquo; Privacy Policy</div>
<main id="main">
  <article class="legal-document">
  <h1>Privacy Policy</h1>
  <p class="effective"><em>{v["updated"]}</em></p>
{body(v)}
  </article>
</main>
<footer class="site-footer">
  <div class="footer-columns">
    <ul>
      <li><a href="/about">About Acme</a></li>
      <li><a href="/careers">Careers</a></li>
      <li><a href="/stores">Store Locator</a></li>
    </ul>
    <ul>
      <li><a href="/help">Help Center</a></li>
      <li><a href="/help/returns">Returns</a></li>
      <li><a href="/legal/terms">Terms of Use</a></li>
      <li><a href="/legal/privacy">Privacy Policy</a></li>{extra_footer}
    </ul>
  </div>
  <p class="app-badges">Get the Acme Shopper app: <a href="/app/ios">App Store</a> | <a href="/app/android">Google Play</a></p>
  <p class="copyright">&copy; {year} Acme Widgets, Inc. All rights reserved.</p>
</footer>
</body>
</html>
"""


MOVED = """<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>301 Moved Permanently</title>
</head><body>
<h1>Moved Permanently</h1>
<p>The document has moved <a href="http://acme.example/legal/privacy">here</a>.</p>
<hr>
<address>Apache/2.2.22 (Ubuntu) Server at acme.example Port 80</address>
</body></html>
"""

# ---------------------------------------------------------------------------------------------
# BirdWatch Community
# ---------------------------------------------------------------------------------------------

def bird_old(v, charset):
    return f"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html dir="ltr">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}">
<meta http-equiv="Content-Style-Type" content="text/css">
<title>BirdWatch Community :: Privacy Policy</title>
<link rel="stylesheet" href="templates/subSilver/subSilver.css" type="text/css">
</head>
<body bgcolor="#E5E5E5" text="#000000" link="#006699" vlink="#5493B4">
<a name="top"></a>
<table width="100%" cellspacing="0" cellpadding="10" border="0" align="center">
<tr>
<td class="bodyline">
<table width="100%" cellspacing="0" cellpadding="0" border="0" id="header">
<tr>
<td><a href="index.php"><img src="images/bw_logo.gif" border="0" alt="BirdWatch Community" vspace="1"></a></td>
<td align="center" width="100%" valign="middle"><span class="maintitle">BirdWatch Community</span><br><span class="gen">Sightings, photos and friendly advice for birders since 1999</span></td>
</tr>
</table>
<table cellspacing="0" cellpadding="2" border="0" align="center" id="menu">
<tr>
<td align="center" valign="top" nowrap="nowrap"><span class="mainmenu">&nbsp;<a href="faq.php" class="mainmenu">FAQ</a>&nbsp; &nbsp;<a href="search.php" class="mainmenu">Search</a>&nbsp; &nbsp;<a href="memberlist.php" class="mainmenu">Memberlist</a>&nbsp; &nbsp;<a href="gallery.php" class="mainmenu">Gallery</a>&nbsp; &nbsp;<a href="profile.php?mode=register" class="mainmenu">Register</a>&nbsp; &nbsp;<a href="login.php" class="mainmenu">Log in</a>&nbsp;</span></td>
</tr>
</table>
<br>
<table width="100%" cellspacing="0" cellpadding="4" border="0" class="forumline">
<tr>
<td class="row1" valign="top">
<div class="postbody">
<h1>Privacy Policy</h1>
{body(v, h="h3", indent="")}
<p><i>{v["updated"]}</i></p>
</div>
</td>
</tr>
</table>
<br>
<div align="center" class="copyright">Powered by <a href="http://www.phpbb.com/" target="_phpbb" class="copyright">phpBB</a> &copy; 2001, 2005 phpBB Group<br>Hosted on a shoestring by volunteers. <a href="donate.php">Donate</a></div>
</td>
</tr>
</table>
</body>
</html>
"""


def bird_new(v, year):
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Privacy notice – BirdWatch Community</title>
<link rel="stylesheet" href="/static/css/bw.css">
</head>
<body>
<header class="masthead">
  <a href="/" class="brand"><img src="/static/img/bw-logo.png" alt="">BirdWatch Community</a>
  <nav class="menu">
    <a href="/forums">Forums</a> <a href="/gallery">Gallery</a> <a href="/map">Sightings map</a> <a href="/join">Join the club</a> <a href="/login">Log in</a>
  </nav>
</header>
<main>
<h1>Privacy notice</h1>
{body(v, indent="")}
<p><em>{v["updated"]}</em></p>
</main>
<footer class="footer">
  <p>BirdWatch Community is a volunteer-run non-profit club. &copy; 1999–{year} BirdWatch Community.</p>
  <p><a href="/privacy.php">Privacy</a> · <a href="/rules">Forum rules</a> · <a href="/contact">Contact</a></p>
</footer>
</body>
</html>
"""


BIRD_404 = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>404 Not Found</title>
</head>
<body>
<h1>Not Found</h1>
<p>The requested URL /privacy.php was not found on this server.</p>
<p>BirdWatch Community is moving to new forum software. Some pages are temporarily unavailable &ndash; please check back soon!</p>
</body>
</html>
"""

# ---------------------------------------------------------------------------------------------
# PhotoShare
# ---------------------------------------------------------------------------------------------

def photo_old(v, year, ad):
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<title>PhotoShare: Privacy Policy</title>
<link rel="stylesheet" href="/css/ps-{year}.css" type="text/css" />
<link rel="alternate" type="application/rss+xml" title="Recent public photos" href="/feeds/recent.rss" />
</head>
<body>
<div id="masthead">
  <a href="/" id="logo"><img src="/img/photoshare_logo.png" alt="PhotoShare" /></a>
  <ul id="globalnav">
    <li><a href="/">Home</a></li><li><a href="/upload">Upload</a></li><li><a href="/explore">Explore</a></li>
    <li><a href="/groups">Groups</a></li><li><a href="/signin">Sign in</a></li><li><a href="/join">Join free!</a></li>
  </ul>
</div>
<div id="main">
  <div id="leaderboard" class="ad-slot"><a href="{ad[0]}"><img src="{ad[1]}" width="728" height="90" alt="Advertisement" /></a></div>
  <div id="policy" class="legal">
    <h1>PhotoShare Privacy Policy</h1>
    <p class="date">{v["updated"]}</p>
{body(v, indent="    ")}
  </div>
</div>
<div id="footer">
  <a href="/about">About</a> | <a href="/blog">Blog</a> | <a href="/help">Help</a> | <a href="/terms">Terms of Service</a> | <a href="/privacy">Privacy</a> | <a href="/jobs">Jobs</a><br />
  &copy; {year} PhotoShare, Inc.
</div>
</body>
</html>
"""


def photo_new(v, year, consent):
    banner = ""
    if consent:
        banner = """  <div id="consent-banner" class="banner" role="region" aria-label="Privacy choices">
    We and our partners use cookies to personalize ads and measure performance. <a href="/privacy/choices">Manage choices</a>
    <button class="consent-accept">OK</button>
  </div>
"""
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width,initial-scale=1">
  <title>PhotoShare: Privacy Policy</title>
  <meta property="og:title" content="PhotoShare Privacy Policy">
  <meta property="og:site_name" content="PhotoShare">
  <link rel="stylesheet" href="/static/app.{year}.css">
  <script defer src="/static/app.{year}.js"></script>
</head>
<body>
{banner}  <header class="topbar">
    <a class="brand" href="/"><svg width="24" height="24" aria-hidden="true"><circle cx="12" cy="12" r="10"/></svg> PhotoShare</a>
    <nav class="menu"><a href="/explore">Explore</a> <a href="/upload">Upload</a> <a href="/pro">Get Pro</a> <a href="/signin">Log in</a> <a class="cta" href="/join">Sign up</a></nav>
  </header>
  <div class="layout">
    <aside class="sidebar legal-nav">
      <a href="/terms">Terms of Service</a> <a href="/privacy" aria-current="page">Privacy Policy</a> <a href="/community-guidelines">Community Guidelines</a> <a href="/copyright">Copyright</a>
    </aside>
    <main class="legal">
      <h1>PhotoShare Privacy Policy</h1>
      <p class="date">{v["updated"]}</p>
{body(v, indent="      ")}
    </main>
  </div>
  <footer class="footer">
    <a href="/about">About</a> · <a href="/blog">Blog</a> · <a href="/help">Help</a> · <a href="/jobs">Jobs</a> · <a href="/developers">Developers</a>
    <p>&copy; {year} PhotoShare, Inc.</p>
  </footer>
</body>
</html>
"""


# ---------------------------------------------------------------------------------------------

def main():
    files = {}

    def put(name, text, encoding="utf-8"):
        data = text.encode(encoding)
        files[name] = data
        path = PAGES / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    # Acme
    put("acme/privacy-2005.html", acme_old(A.V2005, 2005, "Spring Sale!",
        "Save 20% on all garden widgets through April 30. Use code SPRING05 at checkout.", False))
    put("acme/privacy-2007-chrome.html", acme_old(A.V2005, 2007, "Free Shipping",
        "Free standard shipping on orders over $50. No coupon needed!", False))
    put("acme/privacy-2009.html", acme_old(A.V2009, 2009, "Holiday Gift Guide",
        "Find the perfect widget for everyone on your list. Order by December 18 for Christmas delivery.", True))
    put("acme/moved-301.html", MOVED, "iso-8859-1")
    put("acme/privacy-2014.html", acme_new(A.V2014, 2014, False, None))
    put("acme/privacy-2018.html", acme_new(A.V2018, 2018, True, None))
    put("acme/privacy-2020.html", acme_new(A.V2020, 2020, True, ("/legal/do-not-sell", "Do Not Sell My Personal Information")))
    put("acme/privacy-2023.html", acme_new(A.V2023, 2023, True, ("/legal/your-privacy-choices", "Your Privacy Choices")))

    # BirdWatch
    put("birdwatch/privacy-2006-cp1252.html", bird_old(B.V2006, "windows-1252"), "cp1252")
    put("birdwatch/privacy-2009-cp1252.html", bird_old(B.V2009, "windows-1252"), "cp1252")
    put("birdwatch/not-found-2012.html", BIRD_404)
    put("birdwatch/privacy-2013-utf8.html", bird_old(B.V2009, "utf-8"))
    put("birdwatch/privacy-2018.html", bird_new(B.V2018, 2018))
    put("birdwatch/privacy-2022.html", bird_new(B.V2022, 2022))

    # PhotoShare
    put("photoshare/privacy-2008.html", photo_old(P.V2008, 2008, ("/pro", "/img/ads/go-pro-728x90.gif")))
    put("photoshare/privacy-2011.html", photo_old(P.V2011, 2011, ("http://ads.adnetwork.example/click?id=4471", "http://ads.adnetwork.example/b/4471.jpg")))
    put("photoshare/privacy-2015.html", photo_new(P.V2015, 2015, False))
    put("photoshare/privacy-2018.html", photo_new(P.V2018, 2018, True))
    put("photoshare/privacy-2020.html", photo_new(P.V2020, 2020, True))
    put("photoshare/privacy-2024.html", photo_new(P.V2024, 2024, True))

    ACME_OLD = "http://acme.example/privacy.html"
    ACME_NEW = "http://acme.example/legal/privacy"
    BIRD = "http://birdwatch.example/privacy.php"
    PHOTO = "https://photoshare.example.org/privacy"

    def html_headers(ts, server, charset="utf-8", extra=()):
        ctype = "text/html" if charset is None else f"text/html; charset={charset}"
        return [["Date", http_date(ts)], ["Server", server], ["Content-Type", ctype], *extra]

    apache05 = "Apache/2.0.54 (Unix) mod_ssl/2.0.54 OpenSSL/0.9.7e PHP/4.4.0"
    apache09 = "Apache/2.2.11 (Unix)"
    apache14 = "Apache/2.2.22 (Ubuntu)"
    nginx = "nginx"

    captures = []

    def cap(url, ts, file, status=200, headers=None, expect=None, **extra):
        entry = {"url": url, "timestamp": ts, "file": file, "status": status, "headers": headers}
        entry.update(expect or {})
        entry.update(extra)
        captures.append(entry)

    def moved(ts, target_ts):
        cap(ACME_OLD, ts, "acme/moved-301.html", 301,
            [["Date", http_date(ts)], ["Server", apache14], ["Location", "/legal/privacy"],
             ["Content-Type", "text/html; charset=iso-8859-1"]],
            {"expect": "redirect", "redirect_to": {"url": ACME_NEW, "timestamp": target_ts}})

    # --- Acme ---
    cap(ACME_OLD, "20050314093000", "acme/privacy-2005.html", 200, html_headers("20050314093000", apache05),
        {"expect": "new-version", "version": 1})
    cap(ACME_OLD, "20070622181500", "acme/privacy-2007-chrome.html", 200, html_headers("20070622181500", apache05),
        {"expect": "same-text", "version": 1})
    cap(ACME_OLD, "20090917120000", "acme/privacy-2009.html", 200, html_headers("20090917120000", apache09),
        {"expect": "new-version", "version": 2})
    cap(ACME_OLD, "20100105083000", "acme/privacy-2009.html", 200, html_headers("20100105083000", apache09),
        {"expect": "duplicate", "version": 2, "duplicate_of": "20090917120000"})
    moved("20140402160000", "20140402160004")
    cap(ACME_NEW, "20140402160004", "acme/privacy-2014.html", 200, html_headers("20140402160004", apache14),
        {"expect": "new-version", "version": 3, "via_redirect_from": "20140402160000"})
    moved("20180525065958", "20180525070003")
    cap(ACME_NEW, "20180525070003", "acme/privacy-2018.html", 200, html_headers("20180525070003", apache14),
        {"expect": "new-version", "version": 4, "via_redirect_from": "20180525065958"})
    moved("20200101090000", "20200101090002")
    cap(ACME_NEW, "20200101090002", "acme/privacy-2020.html", 200, html_headers("20200101090002", apache14),
        {"expect": "new-version", "version": 5, "via_redirect_from": "20200101090000"})
    moved("20230710120000", "20230710120005")
    cap(ACME_NEW, "20230710120005", "acme/privacy-2023.html", 200, html_headers("20230710120005", nginx),
        {"expect": "new-version", "version": 6, "via_redirect_from": "20230710120000"})

    # --- BirdWatch ---
    bw06 = "Apache/1.3.33 (Unix) PHP/4.4.1"
    cap(BIRD, "20060411153000", "birdwatch/privacy-2006-cp1252.html", 200,
        html_headers("20060411153000", bw06, None, [["X-Powered-By", "PHP/4.4.1"]]),
        {"expect": "new-version", "version": 1})
    cap(BIRD, "20091102201500", "birdwatch/privacy-2009-cp1252.html", 200,
        html_headers("20091102201500", bw06, None, [["X-Powered-By", "PHP/5.2.6"]]),
        {"expect": "new-version", "version": 2})
    cap(BIRD, "20120815100000", "birdwatch/not-found-2012.html", 404,
        html_headers("20120815100000", "Apache/2.2.16 (Debian)"), {"expect": "http-404"})
    cap(BIRD, "20130306114500", "birdwatch/privacy-2013-utf8.html", 200,
        html_headers("20130306114500", "Apache/2.2.16 (Debian)", "UTF-8", [["X-Powered-By", "PHP/5.3.3"]]),
        {"expect": "same-text", "version": 2})
    cap(BIRD, "20180523080000", "birdwatch/privacy-2018.html", 200,
        html_headers("20180523080000", "nginx/1.10.3"), {"expect": "new-version", "version": 3})
    cap(BIRD, "20220905170000", "birdwatch/privacy-2022.html", 200,
        html_headers("20220905170000", "nginx/1.18.0"), {"expect": "new-version", "version": 4})

    # --- PhotoShare ---
    for n, (ts, file) in enumerate([
        ("20081015221000", "photoshare/privacy-2008.html"),
        ("20110607134500", "photoshare/privacy-2011.html"),
        ("20150912090000", "photoshare/privacy-2015.html"),
        ("20180510064500", "photoshare/privacy-2018.html"),
        ("20200115120000", "photoshare/privacy-2020.html"),
        ("20240201080000", "photoshare/privacy-2024.html"),
    ], start=1):
        extra = [["Cache-Control", "max-age=300"]]
        if ts >= "2015":
            extra.append(["Strict-Transport-Security", "max-age=31536000"])
        cap(PHOTO, ts, file, 200, html_headers(ts, nginx, "UTF-8", extra), {"expect": "new-version", "version": n})

    manifest = {
        "description": "policytrack's bundled sample archive: three fictional sites on reserved example domains "
                       "whose privacy policies change over 2005-2024. Pages are in pages/; each capture lists the "
                       "original URL, the 14-digit capture time, the HTTP status and headers the archive replays, "
                       "and what policytrack is expected to make of it (see README.md).",
        "sites": [
            {"hostname": "acme.example", "name": "Acme Widgets", "privacy_url": ACME_OLD,
             "notes": f"Moved to {ACME_NEW} in April 2014; the old URL 301-redirects (Location: /legal/privacy)."},
            {"hostname": "birdwatch.example", "name": "BirdWatch Community", "privacy_url": BIRD,
             "notes": "windows-1252 pages until 2009 (charset only in <meta>), a 404 in 2012, UTF-8 from 2013."},
            {"hostname": "photoshare.example.org", "name": "PhotoShare", "privacy_url": PHOTO,
             "notes": "Six policy versions, 2008-2024."},
        ],
        "captures": captures,
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False)
    # One line per header pair keeps the manifest readable.
    text = re.sub(r'\[\n\s+("(?:[^"\\]|\\.)*"),\n\s+("(?:[^"\\]|\\.)*")\n\s+\]', r"[\1, \2]", text)
    (OUT / "manifest.json").write_text(text + "\n", "utf-8")
    print(f"{len(files)} pages, {len(captures)} captures -> {OUT}")


main()
