"""Hebrew for a payment's status history on the staff donation page.
msgid -> translation; scripts/fill_po.py reads every file here."""

HE = {
"Cause": "סיבה",
"Status history": "היסטוריית סטטוסים",
"a saved-card pledge charged at the close": "התחייבות בכרטיס שמור שחויבה בסגירה",
"event from the payment service: %(what)s": "אירוע משירות התשלומים: %(what)s",
"offline gift entered by %(what)s": "תרומה לא מקוונת שנרשמה על ידי %(what)s",
"reconcile, checking with the payment service": "התאמה, בדיקה מול שירות התשלומים",
"refund by %(what)s": "החזר כספי על ידי %(what)s",
"the donor submitted the card": "התורם/ת שלח/ה את פרטי הכרטיס",
"the payment service's answer to our request": "התשובה של שירות התשלומים לבקשה שלנו",
"the status when this history began": "הסטטוס כשההיסטוריה הזו התחילה",
}
