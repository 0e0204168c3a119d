"""Demo appeals, written for this project (not copied from any campaign)."""

from datetime import timedelta

REFUSERS_STORY = """\
Every week more reservists tell their commanders that they will not go back.
Most of them do it alone, late at night, after months of doubt. They should
not have to.

**Our organisers sit with people before the phone call comes.** They explain
the law, find a lawyer when one is needed, connect families who are going
through the same thing, and make sure nobody who refuses is left without
rent money or a friend at the hearing.

What your gift pays for:

- a trained organiser in each of four regions, for the next six months;
- legal first aid for anyone who receives a summons;
- a hardship fund for people who lose income because they said no.

A movement grows when people see that others stood up before them and came
through. Help us make sure that nobody has to decide alone.

*When you have given, ask two friends to match you. Every gift you bring in
doubles the organisers' reach.*
"""

COALITION_STORY = """\
We are organisations of faith, labour, culture and human rights from many
countries. We do not agree on everything. We agree on this:

1. The killing must stop now, on every side.
2. Every hostage must come home, and every detainee held without charge must
   be charged or released.
3. Aid must reach every family that needs it, without conditions.
4. Only a political agreement, negotiated by the people who must live with
   it, can bring lasting safety.

This statement is paid for by the people who sign it. Gifts cover
translation into six languages, advertising in the newspapers that
decision-makers read, and travel for the delegation that will deliver the
signatures in person.
"""

HEBREW_STORY = """\
תודה שחתמתם על העצומה! עכשיו אנחנו צריכים את עזרתכם כדי שהקול הזה יישמע.

**השותפות שלנו מפגישה יהודים וערבים** שמסרבים לקבל את המציאות של מלחמה
בלי סוף. אנחנו מארגנים הפגנות משותפות, מפעילים קו סיוע לפעילים שנעצרו,
ומפיקים חומרים בעברית ובערבית.

כל תרומה מממנת:

- הסעות להפגנות מהצפון ומהדרום;
- ייעוץ משפטי לפעילים;
- תרגום והפקה של חומרי הסברה בשתי השפות.

לא נוכל לעשות את זה בלי תמיכה של אנשים כמוכם. גם תרומה קטנה עושה הבדל.
"""

COUNTRIES = ["Argentina", "Australia", "Belgium", "Brazil", "Canada", "France", "Germany",
             "Israel", "Italy", "Netherlands", "South Africa", "Sweden", "United Kingdom",
             "United States", "Uruguay"]
_KINDS = ["Friends of the Peace Table", "Workers for a Just Peace", "Open Doors Congregation",
          "Artists Against Silence", "Youth Forum for Coexistence", "Civil Rights Circle",
          "Women Building Bridges", "Teachers for Tomorrow", "Neighbours Without Borders",
          "Physicians for Dialogue"]


def cosigners(n=42):
    return [{"name": f"{_KINDS[i % len(_KINDS)]} — {COUNTRIES[i % len(COUNTRIES)]} chapter",
             "country": COUNTRIES[i % len(COUNTRIES)],
             "url": f"https://example.org/cosigners/{i + 1}"} for i in range(n)]


def appeals(now):
    return [
        dict(slug="stand-with-refusers", title="Nobody should refuse alone",
             summary="Fund the organisers who stand beside reservists who say no.",
             language="en", currency="USD", goal_major=50_000,
             suggested_major=[25, 50, 100, 250], story_md=REFUSERS_STORY,
             thank_you_md="Thank you. Your gift keeps an organiser on the phone tonight.",
             hero_image="img/refusers.svg",
             hero_alt="Drawing of many small figures gathering around a lit window at night",
             hero_credit="Illustration: Fundraiser demo", ends_at=now + timedelta(days=30),
             cosigners=[]),
        dict(slug="ceasefire-now-statement", title="Ceasefire now: a joint statement",
             summary="Forty-two organisations, one demand. Sign, then help us carry it.",
             language="en", currency="EUR", goal_major=20_000,
             suggested_major=[10, 25, 50, 100], story_md=COALITION_STORY,
             thank_you_md="Thank you for standing with the coalition.",
             hero_image="img/coalition.svg",
             hero_alt="Drawing of many hands of different colours holding one sheet of paper",
             hero_credit="Illustration: Fundraiser demo", ends_at=now + timedelta(days=12),
             cosigners=cosigners(), signatures=(True, 5000)),
        dict(slug="shutafut-petition", title="חתמתם? עכשיו עזרו לנו להשמיע את הקול",
             summary="שותפות יהודית-ערבית נגד המלחמה. כל שקל עוזר.",
             language="he", currency="ILS", goal_major=120_000,
             suggested_major=[36, 100, 180, 500], story_md=HEBREW_STORY,
             thank_you_md="תודה רבה! התרומה שלכם מגיעה ישר לשטח.",
             hero_image="img/partnership.svg",
             hero_alt="איור של שני אנשים הולכים יחד בדרך בין גבעות",
             hero_credit="איור: הדגמה של Fundraiser", ends_at=None,
             cosigners=[{"name": "עומדים ביחד — סניף חיפה", "country": "ישראל", "url": ""},
                        {"name": "נשים עושות שלום — מעגל ירושלים", "country": "ישראל",
                         "url": ""}]),
    ]


def match_pools(now):
    """Demo sponsors' match pools (invented names), one per appeal that has one."""
    return [
        dict(slug="stand-with-refusers", sponsor="The Olive Grove Fund", ratio=(1, 1),
             cap_major=5_000, ends_at=now + timedelta(days=21)),
        dict(slug="shutafut-petition", sponsor="קרן הגשר", ratio=(2, 1),
             cap_major=20_000, ends_at=None),
    ]
