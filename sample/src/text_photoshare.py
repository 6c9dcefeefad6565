"""Policy text of PhotoShare (photoshare.example.org), by version."""

INTRO_2008 = [
    "PhotoShare lets you store, organize and share your photos online. We know your photos are "
    "personal, so we want you to understand what information we collect and how we use it. By using "
    "PhotoShare you agree to this Privacy Policy.",
]

COLLECT_2008 = ("Information we collect", [
    "<b>Account information.</b> When you sign up we collect your name, e-mail address, password and "
    "date of birth. You may add a profile picture, a short bio and your city.",
    "<b>Your photos.</b> We store the photos you upload, together with titles, captions, tags, comments "
    "and the EXIF information your camera saves in each file (such as the camera model and the date "
    "taken).",
    "<b>Usage information.</b> Our servers log your IP address, browser type, the pages you visit and "
    "the photos you view.",
])

PRIVACY_SETTINGS_2008 = ("Who can see your photos", [
    "Every album is either <i>Public</i> (anyone can see it, and it may appear in search engines), "
    "<i>Friends only</i>, or <i>Private</i> (only you). New albums are Public unless you change the "
    "default in your account settings. Your name, profile picture and public albums are always "
    "visible to other users.",
])

USE_2008 = ("How we use information", [
    "We use your information to provide and improve PhotoShare, to show you photos from people you "
    "follow, to send you notifications you have asked for, and to respond to your requests. We use "
    "aggregate usage statistics to understand which features are popular.",
])

ADS_2008 = ("Advertising", [
    "PhotoShare is free because we show ads. Our advertising partners may use cookies to show ads "
    "based on the pages you visit on PhotoShare. We do not give advertisers your name, e-mail address "
    "or private photos.",
])

SHARING_2008 = ("Sharing with others", [
    "We do not sell your personal information. We share it with companies that host our servers and "
    "process payments for PhotoShare Pro accounts, when you ask us to (for example by ordering prints "
    "from our printing partner), or when required by law.",
])

DELETE_2008 = ("Deleting your photos and account", [
    "You can delete any photo at any time. When you delete your account, we remove your profile and "
    "photos from the site immediately and from our backups within 90 days.",
])

CONTACT_2008 = ("Contact", [
    'E-mail privacy@photoshare.example.org or use the <a href="/help">Help</a> page.',
])

V2008 = {
    "updated": "Effective October 1, 2008",
    "intro": INTRO_2008,
    "sections": [COLLECT_2008, PRIVACY_SETTINGS_2008, USE_2008, ADS_2008, SHARING_2008, DELETE_2008,
                 CONTACT_2008],
}

# 2011: geotagging map, face tag suggestions, Facebook Connect.
COLLECT_2011 = ("Information we collect", COLLECT_2008[1] + [
    "<b>Location.</b> If your photos contain GPS coordinates, we use them to place the photos on the "
    "PhotoShare Map. Location is shown only on photos you share publicly, and you can hide the "
    "location of any photo or turn off the map for all your photos in your settings.",
])

FACES_2011 = ("Tag suggestions", [
    "When you tag friends in photos, PhotoShare can suggest tags by recognizing faces that look like "
    "people you have tagged before. The face information we create is used only to suggest tags to "
    "you, and is deleted if you turn tag suggestions off.",
])

CONNECT_2011 = ("Connecting with Facebook and Twitter", [
    "If you connect your Facebook or Twitter account, we receive your basic profile information and "
    "friend list from that service so that we can help you find friends on PhotoShare. If you choose, "
    "we post your new public photos to your timeline or stream.",
])

PRIVACY_SETTINGS_2011 = ("Who can see your photos", [
    "Every album is either <i>Public</i> (anyone can see it, and it may appear in search engines), "
    "<i>Friends only</i>, or <i>Private</i> (only you). New albums are Friends only unless you change "
    "the default in your account settings. Your name and profile picture are always visible to other "
    "users.",
])

V2011 = {
    "updated": "Effective June 1, 2011",
    "intro": INTRO_2008,
    "sections": [COLLECT_2011, PRIVACY_SETTINGS_2011, FACES_2011, CONNECT_2011, USE_2008, ADS_2008,
                 SHARING_2008, DELETE_2008, CONTACT_2008],
}

# 2015: apps, camera roll sync, interest-based ads across devices, law enforcement.
INTRO_2015 = [
    "This Privacy Policy explains how PhotoShare, Inc. collects, uses and shares information when you "
    "use PhotoShare on the web and in our iOS and Android apps.",
]

APPS_2015 = ("Mobile apps", [
    "If you turn on <b>Auto Upload</b>, the app uploads new photos and videos from your camera roll to "
    "a Private album in the background. The app also collects your device type, operating system "
    "version and a device identifier, and, if you allow it, sends you push notifications.",
])

ADS_2015 = ("Advertising", [
    "PhotoShare is free because we show ads. We and our advertising partners use cookies, device "
    "identifiers and similar technologies to show you ads based on your activity on PhotoShare and on "
    "other sites and apps, and to recognize you across your devices. You can opt out of interest-based "
    "advertising through the Digital Advertising Alliance's opt-out page or your device's ad settings. "
    "We never use your private photos to target ads.",
])

LAW_2015 = ("Requests from law enforcement", [
    "We disclose information to government authorities only in response to valid legal process, and "
    "we notify affected users unless we are legally prohibited from doing so. We publish the number "
    "of requests we receive twice a year in our Transparency Report.",
])

V2015 = {
    "updated": "Effective September 1, 2015",
    "intro": INTRO_2015,
    "sections": [COLLECT_2011, APPS_2015, PRIVACY_SETTINGS_2011, FACES_2011, CONNECT_2011, USE_2008,
                 ADS_2015, SHARING_2008, LAW_2015, DELETE_2008, CONTACT_2008],
}

# 2018: GDPR rewrite.
INTRO_2018 = INTRO_2015 + [
    "PhotoShare, Inc. is the controller of your personal data. If you live in the European Union, "
    "PhotoShare Ireland Ltd. is the controller, and you can contact our Data Protection Officer at "
    "dpo@photoshare.example.org.",
]

FACES_2018 = ("Face recognition", [
    "Tag suggestions use face recognition. In the European Union and in Canada tag suggestions are off "
    "unless you turn them on. Elsewhere you can turn them off at any time, and we then delete the face "
    "templates we created for you.",
])

BASES_2018 = ("Why we process your data (legal bases)", [
    "We process your data to provide the service you signed up for (contract); to keep PhotoShare "
    "secure, fight spam and improve our features (legitimate interests); for face recognition, "
    "location features and interest-based advertising, only with your consent in the EU (consent); "
    "and to comply with the law (legal obligation).",
])

RIGHTS_2018 = ("Your rights and choices", [
    "You can access, correct, download and delete your information in <b>Settings → Privacy</b>. "
    "You can also object to processing based on our legitimate interests, restrict processing, and "
    "withdraw consent at any time. You may lodge a complaint with the Irish Data Protection "
    "Commission or your local supervisory authority.",
])

TRANSFERS_2018 = ("International transfers", [
    "We store data in the United States and the European Union. Transfers from the EU to the United "
    "States are covered by the EU-U.S. Privacy Shield and Standard Contractual Clauses.",
])

RETENTION_2018 = ("How long we keep data", [
    "We keep your photos and account information until you delete them. Deleted photos are removed "
    "from our servers within 30 days and from backups within 90 days. Server logs are kept for 12 "
    "months.",
])

V2018 = {
    "updated": "Effective May 10, 2018",
    "intro": INTRO_2018,
    "sections": [COLLECT_2011, APPS_2015, PRIVACY_SETTINGS_2011, FACES_2018, CONNECT_2011, BASES_2018,
                 ADS_2015, SHARING_2008, LAW_2015, TRANSFERS_2018, RETENTION_2018, RIGHTS_2018,
                 CONTACT_2008],
}

# 2020: CCPA.
SHARING_2020 = ("Sharing with others", [
    "We share information with companies that host our servers and process payments for PhotoShare "
    "Pro, when you ask us to (for example by ordering prints from our printing partner), and when "
    "required by law. When our advertising partners collect device identifiers and browsing data "
    "through PhotoShare, California law may treat this as a \"sale\" of personal information.",
])

CCPA_2020 = ("California residents", [
    "Under the California Consumer Privacy Act you have the right to know what personal information "
    "we collect, use and disclose; to request deletion; to opt out of the sale of your personal "
    'information at <a href="/privacy/do-not-sell">Do Not Sell My Personal Information</a>; and not to be '
    "discriminated against for using these rights. You can make requests in Settings → Privacy or by "
    "e-mailing privacy@photoshare.example.org.",
])

V2020 = {
    "updated": "Effective January 1, 2020",
    "intro": INTRO_2018,
    "sections": [COLLECT_2011, APPS_2015, PRIVACY_SETTINGS_2011, FACES_2018, CONNECT_2011, BASES_2018,
                 ADS_2015, SHARING_2020, LAW_2015, TRANSFERS_2018, RETENTION_2018, RIGHTS_2018,
                 CCPA_2020, CONTACT_2008],
}

# 2024: AI features and training, Twitter connection dropped, DPF, GPC.
AI_2024 = ("Artificial intelligence features", [
    "PhotoShare uses machine learning to power search (for example \"beach at sunset\"), automatic "
    "albums and tag suggestions. These models run on your photos to provide these features to you.",
    "We do not use your Private or Friends only photos to train AI models. We may use Public photos "
    "and their captions to improve our search models unless you opt out in <b>Settings → Privacy → AI "
    "training</b>. We never license your photos to third parties for AI training.",
])

CONNECT_2024 = ("Connecting with Facebook", [
    "If you connect your Facebook account, we receive your basic profile information so that we can "
    "help you find friends on PhotoShare. We ended our integration with Twitter (now X) in 2023 and "
    "deleted the data we had received from it.",
])

TRANSFERS_2024 = ("International transfers", [
    "We store data in the United States and the European Union. Transfers from the EU to the United "
    "States rely on the EU-U.S. Data Privacy Framework and Standard Contractual Clauses.",
])

CCPA_2024 = ("California and other U.S. states", [
    "Residents of California, Colorado, Connecticut, Virginia and other states with privacy laws have "
    "the right to know, correct and delete their personal information, and to opt out of targeted "
    'advertising and the sale or sharing of personal information at <a href="/privacy/choices">Your '
    "Privacy Choices</a>. We honor the Global Privacy Control signal as an opt-out. You can make "
    "requests in Settings → Privacy or by e-mailing privacy@photoshare.example.org, and appeal a "
    "decision by replying to our answer.",
])

V2024 = {
    "updated": "Effective February 1, 2024",
    "intro": INTRO_2018,
    "sections": [COLLECT_2011, APPS_2015, PRIVACY_SETTINGS_2011, FACES_2018, AI_2024, CONNECT_2024,
                 BASES_2018, ADS_2015, SHARING_2020, LAW_2015, TRANSFERS_2024, RETENTION_2018,
                 RIGHTS_2018, CCPA_2024, CONTACT_2008],
}
