"""Policy text of Acme Widgets (acme.example), by version. Sections: (heading, [blocks])."""

INTRO_2005 = [
    'Acme Widgets, Inc. ("Acme", "we", "us") respects your privacy. This Privacy Policy explains what '
    "information we collect when you visit acme.example or buy from our online store, how we use it, "
    "and the choices you have.",
]

COLLECT_2005 = ("Information We Collect", [
    "When you place an order we ask for your name, shipping and billing address, e-mail address, "
    "telephone number and payment card details. If you create an account we also store your password "
    "and your order history so that you can track shipments and reorder quickly.",
    "Like most web sites, our servers automatically record information that your browser sends, such "
    "as your IP address, browser type, the page you came from and the pages you view. We use these "
    "logs to run and improve the site and do not link them to your name.",
])

COOKIES_2005 = ("Cookies", [
    "We use a session cookie to remember the contents of your shopping cart while you browse. The "
    "cookie is deleted when you close your browser. You can set your browser to refuse cookies, but "
    "the shopping cart will not work without them.",
])

USE_2005 = ("How We Use Your Information", [
    "We use the information you give us to process and ship your orders, to answer your questions, "
    "and, if you ask us to, to send you our monthly e-mail newsletter with new products and special "
    "offers. You can unsubscribe from the newsletter at any time.",
])

SHARING_2005 = ("Sharing Your Information", [
    "We share your name and address with the shipping companies that deliver your order, and your "
    "payment details with our payment processor to complete the transaction. These companies may use "
    "your information only to provide their services to us.",
    "We do not sell, rent or trade your personal information to third parties. We may disclose "
    "information when required by law, such as in response to a subpoena.",
])

SECURITY_2005 = ("Security", [
    "Our checkout pages use Secure Sockets Layer (SSL) encryption to protect your payment details in "
    "transit. Access to customer records is limited to employees who need it to do their jobs.",
])

CHILDREN_2005 = ("Children", [
    "Our store is not directed to children under 13, and we do not knowingly collect personal "
    "information from them.",
])

CHANGES_2005 = ("Changes to This Policy", [
    "If we change this policy we will post the new version on this page.",
])

CONTACT_2005 = ("Contact Us", [
    'Questions about this policy? Write to privacy@acme.example, use our <a href="contact.html">contact '
    "form</a>, or send a letter to Acme Widgets, Inc., 123 Example Street, Springfield, IL 62701.",
])

V2005 = {
    "updated": "Last updated: March 1, 2005",
    "intro": INTRO_2005,
    "sections": [COLLECT_2005, COOKIES_2005, USE_2005, SHARING_2005, SECURITY_2005, CHILDREN_2005,
                 CHANGES_2005, CONTACT_2005],
}

# 2009: persistent cookies, analytics, ad networks and web beacons.
COOKIES_2009 = ("Cookies and Web Beacons", [
    "We use cookies to keep the contents of your shopping cart and, if you choose \"Remember me\", to "
    "recognize you when you return. Some of these cookies stay on your computer for up to one year. You "
    "can set your browser to refuse cookies, but the shopping cart will not work without them.",
    "Our e-mails and some pages contain web beacons (small transparent images) that tell us whether a "
    "message was opened or a page was viewed.",
])

ANALYTICS_2009 = ("Analytics and Advertising", [
    "We use Google Analytics to understand how visitors use our site. Google Analytics sets its own "
    "cookies and collects information about your visits, including your IP address, which Google "
    "processes under its own privacy policy.",
    "We work with third-party advertising networks that show our ads on other web sites. These "
    "networks may use cookies and web beacons to show you ads based on your visits to acme.example. "
    'You can opt out of many of these networks at the Network Advertising Initiative\'s <a '
    'href="http://www.networkadvertising.org/managing/opt_out.asp">opt-out page</a>.',
])

USE_2009 = ("How We Use Your Information", [
    "We use the information you give us to process and ship your orders, to answer your questions, to "
    "prevent fraud, and, if you ask us to, to send you our e-mail newsletter with new products and "
    "special offers. Every newsletter contains an unsubscribe link.",
])

CHANGES_2009 = ("Changes to This Policy", [
    "If we change this policy we will post the new version on this page and update the date above. If "
    "we make material changes we will also notify registered customers by e-mail.",
])

V2009 = {
    "updated": "Last updated: August 15, 2009",
    "intro": INTRO_2005,
    "sections": [COLLECT_2005, COOKIES_2009, ANALYTICS_2009, USE_2009, SHARING_2005, SECURITY_2005,
                 CHILDREN_2005, CHANGES_2009, CONTACT_2005],
}

# 2014: new page at /legal/privacy; numbered sections, mobile app, Do Not Track, Shine the Light.
INTRO_2014 = [
    'This Privacy Policy describes how Acme Widgets, Inc. ("Acme", "we", "us") collects, uses and '
    "shares information about you when you use our website acme.example, the Acme Shopper mobile app "
    "and our customer service (together, the \"Services\").",
]

COLLECT_2014 = ("1. Information We Collect", [
    "<b>Information you give us.</b> We collect the information you provide when you create an account, "
    "place an order, sign up for e-mail, enter a promotion or contact customer service: for example your "
    "name, addresses, e-mail address, phone number, payment information and product reviews.",
    "<b>Information we collect automatically.</b> When you use the Services we collect your IP address, "
    "device and browser type, pages and products viewed, search terms and referring URLs.",
    "<b>Location.</b> If you allow it, the Acme Shopper app uses your device's location to find nearby "
    "stores and pickup points. You can turn this off in your device settings at any time.",
])

USE_2014 = ("2. How We Use Your Information", [
    "We use information about you to:",
    "- process, ship and support your orders;",
    "- manage your account and remember your preferences;",
    "- send you service messages and, with your consent, marketing e-mails and push notifications;",
    "- personalize the products and offers we show you;",
    "- detect and prevent fraud; and",
    "- comply with our legal obligations.",
])

COOKIES_2014 = ("3. Cookies and Similar Technologies", [
    "We and our partners use cookies, web beacons and similar technologies to keep you signed in, "
    "remember your cart, measure how the Services are used and deliver interest-based advertising. "
    'See our <a href="cookies">Cookie Notice</a> for details and choices.',
])

SHARING_2014 = ("4. How We Share Information", [
    "We share information with service providers who work on our behalf (payment processing, "
    "shipping, e-mail delivery, analytics and customer support), with advertising partners as "
    "described in Section 3, when required by law, and in connection with a merger or sale of our "
    "business. We do not sell your personal information.",
])

DNT_2014 = ("5. Do Not Track", [
    "Some browsers send a \"Do Not Track\" signal. Because there is no common industry standard for "
    "these signals, the Services do not currently respond to them.",
])

CALIFORNIA_2014 = ("6. Your California Privacy Rights", [
    "California's \"Shine the Light\" law permits customers who are California residents to request, "
    "once a year, information about the personal information we shared with third parties for their "
    "own direct marketing purposes. To make a request, write to privacy@acme.example.",
])

SECURITY_2014 = ("7. Security", [
    "We use administrative, technical and physical safeguards, including encryption of payment data, "
    "to protect your information. No method of transmission over the internet is completely secure.",
])

CHILDREN_2014 = ("8. Children", [
    "The Services are not directed to children under 13 and we do not knowingly collect personal "
    "information from children under 13.",
])

CHANGES_2014 = ("9. Changes to This Policy", [
    "We may update this policy from time to time. We will post changes here with a new effective date "
    "and, for material changes, notify you by e-mail or in the app.",
])

CONTACT_2014 = ("10. Contact Us", [
    "Acme Widgets, Inc., Attn: Privacy, 123 Example Street, Springfield, IL 62701, or "
    'privacy@acme.example, or through our <a href="/help/contact">Help Center</a>.',
])

V2014 = {
    "updated": "Effective date: April 1, 2014",
    "intro": INTRO_2014,
    "sections": [COLLECT_2014, USE_2014, COOKIES_2014, SHARING_2014, DNT_2014, CALIFORNIA_2014,
                 SECURITY_2014, CHILDREN_2014, CHANGES_2014, CONTACT_2014],
}

# 2018: GDPR.
INTRO_2018 = INTRO_2014 + [
    "Acme Widgets, Inc. is the controller of your personal information. For customers in the European "
    "Economic Area, Acme Widgets Europe B.V., Keizersgracht 1, Amsterdam, the Netherlands, is the "
    "controller.",
]

LEGAL_BASES_2018 = ("3. Legal Bases for Processing (EEA Customers)", [
    "If you are in the European Economic Area, we process your personal data only when we have a legal "
    "basis to do so:",
    "- <b>Contract:</b> to process your orders and manage your account;",
    "- <b>Legitimate interests:</b> to secure and improve the Services, prevent fraud and market our "
    "products to existing customers, where those interests are not overridden by your rights;",
    "- <b>Consent:</b> for marketing e-mails, push notifications, location and non-essential cookies, "
    "which you can withdraw at any time;",
    "- <b>Legal obligation:</b> to keep tax and accounting records.",
])

COOKIES_2018 = ("4. Cookies and Similar Technologies", [
    "We and our partners use cookies, web beacons and similar technologies to keep you signed in, "
    "remember your cart, measure how the Services are used and deliver interest-based advertising. In "
    "the EEA we set analytics and advertising cookies only with your consent, which you can change at "
    'any time in our <a href="cookies">Cookie Settings</a>.',
])

SHARING_2018 = ("5. How We Share Information", [
    "We share information with service providers who work on our behalf (payment processing, "
    "shipping, e-mail delivery, analytics and customer support) under contracts that require them to "
    "protect it, with advertising partners as described in Section 4, when required by law, and in "
    "connection with a merger or sale of our business. We do not sell your personal information.",
])

TRANSFERS_2018 = ("6. International Transfers", [
    "We are based in the United States. When we transfer personal data from the EEA to the United "
    "States we rely on the EU-U.S. Privacy Shield Framework, to which Acme Widgets, Inc. has certified, "
    "and on the European Commission's Standard Contractual Clauses.",
])

RETENTION_2018 = ("7. How Long We Keep Information", [
    "We keep account information while your account is open and order records for seven years to meet "
    "tax and accounting requirements. We delete or anonymize other information when we no longer need "
    "it for the purposes described in this policy.",
])

RIGHTS_2018 = ("8. Your Rights", [
    "Depending on where you live, you may have the right to access the personal data we hold about "
    "you, to have it corrected or erased, to restrict or object to its processing, to receive it in a "
    "portable format, and to withdraw consent. To exercise these rights, visit "
    '<a href="/account/privacy">Privacy Settings</a> in your account or contact our Data Protection '
    "Officer at dpo@acme.example.",
    "You also have the right to lodge a complaint with your local data protection supervisory "
    "authority.",
])

DNT_2018 = ("9. Do Not Track", DNT_2014[1])
CALIFORNIA_2018 = ("10. Your California Privacy Rights", CALIFORNIA_2014[1])
SECURITY_2018 = ("11. Security", SECURITY_2014[1])
CHILDREN_2018 = ("12. Children", [
    "The Services are not directed to children under 16 and we do not knowingly collect personal "
    "information from children under 16.",
])
CHANGES_2018 = ("13. Changes to This Policy", CHANGES_2014[1])
CONTACT_2018 = ("14. Contact Us", [
    "Acme Widgets, Inc., Attn: Privacy, 123 Example Street, Springfield, IL 62701, or "
    'privacy@acme.example, or through our <a href="/help/contact">Help Center</a>. You can reach our '
    "Data Protection Officer at dpo@acme.example.",
])

V2018 = {
    "updated": "Effective date: May 25, 2018",
    "intro": INTRO_2018,
    "sections": [COLLECT_2014, USE_2014, LEGAL_BASES_2018, COOKIES_2018, SHARING_2018, TRANSFERS_2018,
                 RETENTION_2018, RIGHTS_2018, DNT_2018, CALIFORNIA_2018, SECURITY_2018, CHILDREN_2018,
                 CHANGES_2018, CONTACT_2018],
}

# 2020: CCPA.
SHARING_2020 = ("5. How We Share Information", [
    "We share information with service providers who work on our behalf (payment processing, "
    "shipping, e-mail delivery, analytics and customer support) under contracts that require them to "
    "protect it, when required by law, and in connection with a merger or sale of our business.",
    "We also allow advertising partners to collect device identifiers and browsing information through "
    "cookies on our site to show you Acme ads elsewhere. Under the California Consumer Privacy Act this "
    "may be considered a \"sale\" of personal information.",
])

CCPA_2020 = ("10. California Consumer Privacy Act", [
    "If you are a California resident, this section applies to you in addition to the rest of this "
    "policy. In the past 12 months we have collected the following categories of personal information: "
    "identifiers (such as name, e-mail address and IP address); customer records and commercial "
    "information (such as orders and payment information); internet or other electronic network "
    "activity; and approximate geolocation.",
    "You have the right to:",
    "- know the categories and specific pieces of personal information we have collected about you;",
    "- request that we delete personal information we collected from you;",
    '- opt out of the sale of your personal information by clicking <a href="/legal/do-not-sell">Do Not '
    "Sell My Personal Information</a>; and",
    "- not be discriminated against for exercising these rights.",
    "To make a request to know or delete, visit our privacy portal, call us toll-free at "
    "1-800-555-0199, or e-mail privacy@acme.example. We will verify your request by matching the "
    "information you give us with our records. You may use an authorized agent to make a request on "
    "your behalf.",
    "California residents may also request information about disclosures for direct marketing under "
    "California Civil Code Section 1798.83 (\"Shine the Light\").",
])

DNT_2020 = ("9. Do Not Track", DNT_2014[1])
SECURITY_2020 = ("11. Security", SECURITY_2014[1])

V2020 = {
    "updated": "Effective date: January 1, 2020",
    "intro": INTRO_2018,
    "sections": [COLLECT_2014, USE_2014, LEGAL_BASES_2018, COOKIES_2018, SHARING_2020, TRANSFERS_2018,
                 RETENTION_2018, RIGHTS_2018, DNT_2020, CCPA_2020, SECURITY_2020, CHILDREN_2018,
                 CHANGES_2018, CONTACT_2018],
}

# 2023: CPRA, Global Privacy Control, Data Privacy Framework, retention by category.
SHARING_2023 = ("5. How We Share Information", [
    "We share information with service providers and contractors who work on our behalf (payment "
    "processing, shipping, e-mail delivery, analytics and customer support) under contracts that "
    "require them to protect it, when required by law, and in connection with a merger or sale of our "
    "business.",
    "We also allow advertising partners to collect device identifiers and browsing information through "
    "cookies on our site to show you Acme ads on other sites and apps. Under California law this is "
    "\"sharing\" for cross-context behavioral advertising and may be a \"sale\" of personal information.",
])

TRANSFERS_2023 = ("6. International Transfers", [
    "We are based in the United States. When we transfer personal data from the EEA, the United Kingdom "
    "or Switzerland to the United States we rely on the EU-U.S. Data Privacy Framework and its UK and "
    "Swiss extensions, to which Acme Widgets, Inc. has self-certified, and otherwise on the European "
    "Commission's Standard Contractual Clauses.",
])

RETENTION_2023 = ("7. How Long We Keep Information", [
    "We keep personal information only as long as we need it:",
    "- account information: while your account is open, and for 30 days after you close it;",
    "- order and payment records: seven years, to meet tax and accounting requirements;",
    "- customer service messages: three years;",
    "- website and app usage data: 13 months.",
])

DNT_2023 = ("9. Do Not Track and Global Privacy Control", [
    "The Services do not respond to browser \"Do Not Track\" signals. We do honor the Global Privacy "
    "Control (GPC) signal: if your browser sends it, we treat it as a request to opt out of the sale "
    "and sharing of personal information associated with that browser.",
])

CCPA_2023 = ("10. Your California Privacy Rights", [
    "If you are a California resident, this section applies to you in addition to the rest of this "
    "policy. In the past 12 months we have collected the following categories of personal information: "
    "identifiers (such as name, e-mail address and IP address); customer records and commercial "
    "information (such as orders and payment information); internet or other electronic network "
    "activity; and approximate geolocation. We do not collect sensitive personal information other than "
    "account log-in credentials, and we do not use it to infer characteristics about you.",
    "You have the right to:",
    "- know the categories and specific pieces of personal information we have collected about you;",
    "- request that we correct inaccurate personal information;",
    "- request that we delete personal information we collected from you;",
    '- opt out of the sale or sharing of your personal information by clicking <a '
    'href="/legal/your-privacy-choices">Your Privacy Choices</a> or by sending a Global Privacy Control '
    "signal; and",
    "- not be discriminated against for exercising these rights.",
    "To make a request, visit our privacy portal, call us toll-free at 1-800-555-0199, or e-mail "
    "privacy@acme.example. We will verify your request by matching the information you give us with our "
    "records. You may use an authorized agent to make a request on your behalf. We do not knowingly sell "
    "or share the personal information of consumers under 16.",
])

V2023 = {
    "updated": "Effective date: July 10, 2023",
    "intro": INTRO_2018,
    "sections": [COLLECT_2014, USE_2014, LEGAL_BASES_2018, COOKIES_2018, SHARING_2023, TRANSFERS_2023,
                 RETENTION_2023, RIGHTS_2018, DNT_2023, CCPA_2023, SECURITY_2020, CHILDREN_2018,
                 CHANGES_2018, CONTACT_2018],
}
