"""Hebrew for the co-signers page of the appeal editor and image uploads.
msgid -> translation; scripts/fill_po.py reads every file here."""

HE = {
"1 is the first of %(count)s.": "1 הוא הראשון מתוך %(count)s.",
"A new file replaces the logo; a transparent background is kept.":
    "קובץ חדש מחליף את הלוגו; רקע שקוף נשמר.",
"Add a co-signer": "הוספת ארגון חותם",
"Add co-signer": "הוספת ארגון חותם",
"Add several at once": "הוספת כמה בבת אחת",
"Add these co-signers": "הוספת הארגונים האלה",
"Added %(count)s co-signers.": "נוספו %(count)s ארגונים חותמים.",
"Added %(name)s.": "%(name)s נוסף.",
"All co-signers of this appeal": "כל הארגונים החותמים על הקמפיין",
"An appeal can have at most %(max)s co-signers.":
    "לקמפיין יכולים להיות לכל היותר %(max)s ארגונים חותמים.",
"Co-signers": "ארגונים חותמים",
"Co-signers (%(count)s)": "ארגונים חותמים (%(count)s)",
"Co-signers: %(title)s": "ארגונים חותמים: %(title)s",
"Country (optional)": "מדינה (לא חובה)",
"Down": "למטה",
"For example: Open Doors Congregation | Canada | https://example.org. Country and web address may be left out. Add logos afterwards with “Edit”.":
    "לדוגמה: קהילת דלתות פתוחות | קנדה | https://example.org. אפשר לוותר על המדינה ועל "
    "כתובת האתר. לוגואים מוסיפים אחר כך ב„עריכה”.",
"Give the organisation's name.": "יש לכתוב את שם הארגון.",
"Like https://example.org": "למשל https://example.org",
"Line %(number)s: %(problem)s": "שורה %(number)s: %(problem)s",
"Logo (PNG, JPEG or WebP, up to 2 MB)": "לוגו (PNG,‏ JPEG או WebP, עד 2 MB)",
"Logo of %(name)s": "הלוגו של %(name)s",
"No organisation has co-signed this appeal yet.": "עוד אף ארגון לא חתם על הקמפיין הזה.",
"Organisation": "ארגון",
"Position in the list": "מקום ברשימה",
"Remove": "הסרה",
"Remove the image": "הסרת התמונה",
"Remove the invisible control characters from the text.":
    "יש להסיר מהטקסט את תווי הבקרה הבלתי נראים.",
"Remove the logo": "הסרת הלוגו",
"Removed %(name)s.": "%(name)s הוסר.",
"Saved %(name)s.": "%(name)s נשמר.",
"One co-signer per line: name | country | web address":
    "ארגון חותם אחד בכל שורה: שם | מדינה | כתובת אתר",
"Shorten the text: names up to 200 characters, countries up to 80, web addresses up to 500.":
    "יש לקצר: שם עד 200 תווים, מדינה עד 80, כתובת אתר עד 500.",
"Shown small beside the name; a transparent background is kept.":
    "מוצג בקטן ליד השם; רקע שקוף נשמר.",
"The appeal page lists them in this order: the first 12 are shown, the others fold away under “Show all”.":
    "דף הקמפיין מציג אותם בסדר הזה: 12 הראשונים גלויים, והשאר מקופלים תחת „הצגת כל "
    "הארגונים”.",
"The co-signer could not be saved. Check the values.":
    "לא ניתן היה לשמור את הארגון החותם. יש לבדוק את הערכים.",
"To the end": "לסוף",
"To the top": "להתחלה",
"Up": "למעלה",
"Use at most two “|” signs: name | country | web address.":
    "אפשר להשתמש בשני סימני „|” לכל היותר: שם | מדינה | כתובת אתר.",
"Web address (optional)": "כתובת אתר (לא חובה)",
"Web addresses must start with https:// or http:// and name a site, like https://example.org.":
    "כתובת אתר צריכה להתחיל ב-https://‏ או ב-http://‏ ולציין אתר, למשל https://example.org.",
}
