"""Hebrew for a payment's status history on the staff donation page.
msgid -> translation; scripts/fill_po.py reads every file here."""

HE = {
"Cause": "סיבה",
"Status history": "היסטוריית סטטוסים",
"The payment service did not confirm this refund. It stays pending, and the amount stays reserved, until a check with the payment service (within a few minutes) settles it. Do not refund it again.":
    "שירות התשלומים לא אישר את ההחזר. הוא נשאר ממתין, והסכום נשאר שמור, עד שבדיקה מול שירות "
    "התשלומים (בתוך כמה דקות) תכריע. אין להחזיר אותו שוב.",
"a saved-card pledge charged at the close": "התחייבות בכרטיס שמור שחויבה בסגירה",
"event from the payment service: %(what)s": "אירוע משירות התשלומים: %(what)s",
"offline gift entered by %(what)s": "תרומה לא מקוונת שנרשמה על ידי %(what)s",
"reconcile, checking with the payment service": "התאמה, בדיקה מול שירות התשלומים",
"refund by %(what)s": "החזר כספי על ידי %(what)s",
"the donor submitted the card": "התורם/ת שלח/ה את פרטי הכרטיס",
"the payment service's answer to our request": "התשובה של שירות התשלומים לבקשה שלנו",
"the status when this history began": "הסטטוס כשההיסטוריה הזו התחילה",
}
