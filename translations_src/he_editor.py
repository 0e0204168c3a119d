"""Hebrew for the staff appeal editor: match pools and translations.
msgid -> translation; scripts/fill_po.py reads every file here."""

HE = {
"%(matched)s is already matched: the cap cannot go below that.":
    "%(matched)s כבר הוכפלו: התקרה לא יכולה לרדת מתחת לזה.",
"1:1 doubles a gift, 2:1 triples it, 1:2 adds half.":
    "1:1 מכפיל תרומה, 2:1 משלש אותה, 1:2 מוסיף מחצית.",
"Add a match pool": "הוספת קרן הכפלה",
"Add match pool": "הוספת קרן הכפלה",
"Added a %(ratio)s match pool of %(cap)s.": "נוספה קרן הכפלה %(ratio)s בסך %(cap)s.",
"Amounts are in the appeal's currency, %(currency)s. Times are UTC.":
    "הסכומים במטבע הקמפיין, %(currency)s. השעות לפי UTC.",
"Anonymous sponsor (no name is shown)": "תורם/ת אנונימי/ת (השם לא מוצג)",
"Cap": "תקרה",
"Cap: the most the sponsor gives": "תקרה: הסכום המרבי שהתורם/ת נותנ/ת",
"Change the pool of %(sponsor)s": "שינוי הקרן של %(sponsor)s",
"Closes (UTC, optional)": "נסגרת (UTC, לא חובה)",
"Enter a cap more than zero and at most %(max)s.":
    "יש להזין תקרה גדולה מאפס ועד %(max)s.",
"Enter an amount like 250 or 250.50, in %(currency)s.":
    "יש להזין סכום כמו 250 או 250.50, ב־%(currency)s.",
"Give the sponsor's name, or tick “Anonymous sponsor”.":
    "יש לכתוב את שם התורם/ת, או לסמן „תורם/ת אנונימי/ת”.",
"In %(currency)s, like 5000 or 5000.50.": "ב־%(currency)s, כמו 5000 או 5000.50.",
"Match first-time donors only": "הכפלה רק לתורמים בפעם הראשונה",
"Match pools": "קרנות הכפלה",
"Match pools: %(title)s": "קרנות הכפלה: %(title)s",
"Most one gift can unlock (optional)": "הסכום המרבי שתרומה אחת פותחת (לא חובה)",
"Nothing changed.": "לא השתנה דבר.",
"Opens (UTC, optional)": "נפתחת (UTC, לא חובה)",
"Ratio (matched:given)": "יחס (הכפלה:תרומה)",
"Remaining": "נותר",
"Save changes": "שמירת השינויים",
"Shown on the appeal page and the public match ledger.":
    "מוצג בעמוד הקמפיין וביומן ההכפלות הציבורי.",
"Smallest gift that is matched (optional)": "התרומה הקטנה ביותר שמוכפלת (לא חובה)",
"Sponsor's public name": "השם הציבורי של התורם/ת",
"The cap cannot be lower than what is already matched (%(matched)s). Nothing was changed.":
    "התקרה לא יכולה להיות נמוכה ממה שכבר הוכפל (%(matched)s). לא שונה דבר.",
"The limit per gift must be more than zero and not more than the cap.":
    "המגבלה לתרומה צריכה להיות גדולה מאפס ולא יותר מהתקרה.",
"The most matching money one gift can unlock.": "סכום ההכפלה המרבי שתרומה אחת יכולה לפתוח.",
"The pool could not be saved. Check the values and try again.":
    "לא ניתן היה לשמור את הקרן. יש לבדוק את הערכים ולנסות שוב.",
"The pool must close after it opens.": "הקרן צריכה להיסגר אחרי שהיא נפתחת.",
"This appeal has no match pools yet.": "לקמפיין הזה אין עדיין קרנות הכפלה.",
"Use dates between the years 2000 and 2100.": "יש להשתמש בתאריכים בין השנים 2000 ו־2100.",
"Window": "חלון זמן",
"Write the ratio as two whole numbers, like 1:1, 2:1 or 1:2 (at most 1000).":
    "יש לכתוב את היחס כשני מספרים שלמים, כמו 1:1, 2:1 או 1:2 (עד 1000).",
"from the start": "מההתחלה",
"no end": "ללא סיום",
"not open yet": "עוד לא נפתחה",
"up to %(amount)s per gift": "עד %(amount)s לתרומה",
"Give the translation a title.": "יש לתת לתרגום כותרת.",
"Languages": "שפות",
"Markdown of the original": "ה־Markdown של המקור",
"Original (%(language)s)": "מקור (%(language)s)",
"Preview of the translation (not saved yet)": "תצוגה מקדימה של התרגום (עוד לא נשמר)",
"Remove this translation": "הסרת התרגום הזה",
"Removed the %(language)s translation: visitors read the original again.":
    "התרגום (%(language)s) הוסר: המבקרים קוראים שוב את המקור.",
"Save translation": "שמירת התרגום",
"Saved the %(language)s translation.": "התרגום (%(language)s) נשמר.",
"Thank-you message": "הודעת תודה",
"Translate %(title)s": "תרגום %(title)s",
"Translation (%(language)s)": "תרגום (%(language)s)",
"Translations": "תרגומים",
"Visitors whose interface is in %(language)s read this translation; the goal, amounts, image and co-signers stay the appeal's own. Without a translation they read the original.":
    "מבקרים שהממשק שלהם ב%(language)s קוראים את התרגום הזה; היעד, הסכומים, התמונה והחותמים "
    "נשארים של הקמפיין עצמו. בלי תרגום הם קוראים את המקור.",
"not translated yet": "עוד לא תורגם",
"translated": "תורגם",
"Someone else saved this translation at the same moment. Check it below and save again.":
    "מישהו אחר שמר את התרגום הזה באותו רגע. יש לבדוק אותו למטה ולשמור שוב.",
# editing a pool after it is made
"A monthly gift counts": "תרומה חודשית נספרת",
"Once": "פעם אחת",
"As a year (× 12)": "כשנה (× 12)",
"For a monthly gift: “once” matches the monthly amount; “as a year” matches 12 times the monthly amount, within the cap and the limit per gift.":
    "בתרומה חודשית: „פעם אחת” מכפיל את הסכום החודשי; „כשנה” מכפיל פי 12 מהסכום החודשי, "
    "בגבולות התקרה והמגבלה לתרומה.",
"Changes apply to gifts from now on; what is already matched stays as it is, and a refund of an earlier gift gives back exactly what that gift was matched.":
    "השינויים חלים על תרומות מעכשיו והלאה; מה שכבר הוכפל נשאר כפי שהוא, והחזר של תרומה "
    "קודמת מחזיר בדיוק את מה שהוכפל לה.",
"Saved the pool's changes. They apply to gifts from now on; what is already matched stays as it is.":
    "השינויים בקרן נשמרו. הם חלים על תרומות מעכשיו והלאה; מה שכבר הוכפל נשאר כפי שהוא.",
"Choose how a monthly gift counts.": "יש לבחור איך נספרת תרומה חודשית.",
"Enter a minimum gift of zero or more, at most %(max)s.":
    "יש להזין תרומת מינימום של אפס או יותר, עד %(max)s.",
"Keep the sponsor's name to 120 characters.": "שם התורם/ת יכול להכיל עד 120 תווים.",
"The sponsor's name has characters that cannot be shown (such as line breaks or direction marks). Type it again.":
    "בשם התורם/ת יש תווים שלא ניתן להציג (כמו שבירת שורה או סימני כיוון). יש להקליד אותו שוב.",
"Amounts": "סכומים",
"Which gifts are matched": "אילו תרומות מוכפלות",
"Nothing was changed. Fix what is marked below and save again.":
    "לא שונה דבר. יש לתקן את מה שמסומן למטה ולשמור שוב.",
"The pool was not added. Fix what is marked below and try again.":
    "הקרן לא נוספה. יש לתקן את מה שמסומן למטה ולנסות שוב.",
}
