"""Policy text of BirdWatch Community (birdwatch.example). Typographic characters on purpose:
the 2006 and 2009 pages are windows-1252 (curly quotes, dashes, the euro sign at 0x80)."""

INTRO_2006 = [
    "BirdWatch Community is a non-profit club for amateur birders, run by volunteers. We collect as "
    "little information about you as we can, and we never sell it. This page explains what we keep "
    "and why.",
]

REGISTER_2006 = ("What we collect when you register", [
    "To post in the forums you need an account. We ask for a user name, a password and an e-mail "
    "address. Your e-mail address is never shown to other members unless you tick “Show my e-mail "
    "address” in your profile. Everything else in your profile — your home region, your “life list” "
    "and your favourite field guide — is optional.",
    "Supporter members pay an annual fee of US$15 or €12. Payments are handled by PayPal; we receive "
    "your name, e-mail address and the amount paid, but never your card number.",
])

POSTS_2006 = ("Your posts", [
    "Forum posts and sighting reports are public. Anyone can read them, and search engines index "
    "them. Please don’t post your home address or phone number in the forums.",
])

COOKIES_2006 = ("Cookies", [
    "The forum software sets a cookie that keeps you logged in and remembers which topics you’ve "
    "already read. We don’t use cookies for advertising.",
])

LOGS_2006 = ("Server logs", [
    "Our web server keeps a log of IP addresses and pages requested. We use it only to fight spam and "
    "to keep the site running, and we delete logs after 90 days.",
])

SHARING_2006 = ("Who sees your information", [
    "Only the volunteer administrators can see members’ e-mail addresses and IP addresses. We don’t "
    "sell, rent or share member information with anyone — not even with other birding clubs. We "
    "would disclose information only if the law required it.",
])

CONTACT_2006 = ("Questions?", [
    'E-mail the club secretary at secretary@birdwatch.example, or post in the <a '
    'href="viewforum.php?f=12">“Site feedback” forum</a>.',
])

V2006 = {
    "intro": INTRO_2006,
    "sections": [REGISTER_2006, POSTS_2006, COOKIES_2006, LOGS_2006, SHARING_2006, CONTACT_2006],
    "updated": "This policy was last changed on 2 April 2006.",
}

# 2009: photo gallery (EXIF), sightings map, newsletter, AdSense.
PHOTOS_2009 = ("Photos and sightings", [
    "Forum posts, photos in the Gallery and sighting reports are public. Anyone can read them, and "
    "search engines index them. Please don’t post your home address or phone number in the forums.",
    "Digital photos often contain hidden EXIF data such as the camera model, the date and — for "
    "phones and GPS cameras — the exact place the photo was taken. When you upload to the Gallery we "
    "remove the GPS coordinates automatically, so that nest sites of sensitive species can’t be found "
    "from your pictures. Other EXIF data (camera, lens, exposure) is kept and shown with the photo.",
    "Sightings you add to the club map are shown to the nearest kilometre. Sightings of species on "
    "our “sensitive list” (for example nesting raptors) are shown only to the county level.",
])

NEWSLETTER_2009 = ("Newsletter", [
    "If you subscribe to “The Morning Chorus”, our monthly e-mail newsletter, we use your e-mail "
    "address only to send it. Every issue has a one-click unsubscribe link.",
])

ADS_2009 = ("Advertising", [
    "To cover our hosting costs we show Google AdSense ads on forum pages (but never in the Gallery). "
    "Google uses the DoubleClick cookie to show ads based on your visits to this and other sites. You "
    "can opt out of this at Google’s ads preferences page. We don’t give Google any member "
    "information.",
])

COOKIES_2009 = ("Cookies", [
    "The forum software sets a cookie that keeps you logged in and remembers which topics you’ve "
    "already read. Google sets its own cookies for the ads described above.",
])

V2009 = {
    "intro": INTRO_2006,
    "sections": [REGISTER_2006, PHOTOS_2009, NEWSLETTER_2009, COOKIES_2009, ADS_2009, LOGS_2006,
                 SHARING_2006, CONTACT_2006],
    "updated": "This policy was last changed on 28 October 2009.",
}

# 2018: GDPR (the club has many members in the EU), Mailchimp, no more ads.
INTRO_2018 = [
    "BirdWatch Community (“the club”, “we”) is a non-profit club for amateur birders, run by "
    "volunteers. We collect as little personal data as we can, and we never sell it. This notice "
    "explains what we keep, why, and your rights under the EU General Data Protection Regulation "
    "(GDPR) and other privacy laws.",
    "The data controller is BirdWatch Community, c/o the Club Secretary, PO Box 1234, Springfield, and "
    "you can reach us at privacy@birdwatch.example.",
]

WHAT_2018 = ("What we collect and why", [
    "- <b>Account data</b> (user name, password hash, e-mail address): needed to run your forum account. "
    "Legal basis: contract.",
    "- <b>Profile data</b> (home region, life list, photo): optional, shown to other members. Legal "
    "basis: consent, which you can withdraw by deleting it.",
    "- <b>Supporter membership</b> (name, e-mail, payment date and amount, from PayPal): needed to "
    "manage membership. Legal basis: contract; we keep payment records for six years for accounting.",
    "- <b>Newsletter</b> (e-mail address): only if you subscribe. Legal basis: consent.",
    "- <b>Server logs</b> (IP address, pages requested): to fight spam and keep the site secure, deleted "
    "after 30 days. Legal basis: legitimate interests.",
])

PHOTOS_2018 = ("Photos and sightings", [
    "Forum posts, Gallery photos and sighting reports are public. When you upload a photo we remove "
    "GPS coordinates from its EXIF data so that nest sites of sensitive species can’t be found. "
    "Sightings on the club map are shown to the nearest kilometre, and sensitive species only to the "
    "county level.",
])

SERVICES_2018 = ("Services we use", [
    "We send the newsletter with Mailchimp (The Rocket Science Group LLC, USA), which processes your "
    "e-mail address on our behalf under the EU-U.S. Privacy Shield. Members can log in with their "
    "Facebook account; if you do, Facebook tells us your name and e-mail address. We stopped showing "
    "advertising in 2016 and no longer use advertising cookies.",
])

COOKIES_2018 = ("Cookies", [
    "We use only the cookies the site needs to work: one that keeps you logged in and one that "
    "remembers which topics you’ve read. Because they are strictly necessary, we don’t ask for "
    "consent to them.",
])

RIGHTS_2018 = ("Your rights", [
    "You can ask us for a copy of your personal data, ask us to correct or delete it, object to our "
    "use of it, or ask for it in a portable format. E-mail privacy@birdwatch.example and a volunteer "
    "will answer within one month. If you are unhappy with our answer you can complain to your data "
    "protection authority.",
])

CONTACT_2018 = ("Questions?", [
    "E-mail privacy@birdwatch.example, or post in the “Site feedback” forum.",
])

V2018 = {
    "intro": INTRO_2018,
    "sections": [WHAT_2018, PHOTOS_2018, SERVICES_2018, COOKIES_2018, RIGHTS_2018, CONTACT_2018],
    "updated": "Last updated: 23 May 2018.",
}

# 2022: Facebook login removed, self-service deletion, bird atlas data sharing, DPF not yet.
SERVICES_2022 = ("Services we use", [
    "We send the newsletter with Mailchimp (The Rocket Science Group LLC, USA), which processes your "
    "e-mail address on our behalf under the European Commission’s Standard Contractual Clauses. We "
    "removed “Log in with Facebook” in March 2022; if you used it, please set a password from the "
    "log-in page. We don’t show advertising and don’t use advertising cookies.",
])

ATLAS_2022 = ("Sharing sightings with the Bird Atlas", [
    "Since 2021 we send sighting records to the Regional Bird Atlas Project, a scientific survey run "
    "by universities and conservation groups. We send the species, date, place (to the nearest "
    "kilometre) and number of birds, but not your name or user name. Sightings of sensitive species "
    "are sent to the county level only. You can exclude your sightings in your profile settings.",
])

RIGHTS_2022 = ("Your rights", [
    "You can download or delete your account yourself under Profile → Privacy. Deleting your account "
    "removes your profile and e-mail address at once; your forum posts remain but are shown as "
    "“former member”. You can also ask us for a copy of your personal data, ask us to correct it, or "
    "object to our use of it: e-mail privacy@birdwatch.example and a volunteer will answer within one "
    "month. If you are unhappy with our answer you can complain to your data protection authority.",
])

V2022 = {
    "intro": INTRO_2018,
    "sections": [WHAT_2018, PHOTOS_2018, ATLAS_2022, SERVICES_2022, COOKIES_2018, RIGHTS_2022,
                 CONTACT_2018],
    "updated": "Last updated: 1 September 2022.",
}
