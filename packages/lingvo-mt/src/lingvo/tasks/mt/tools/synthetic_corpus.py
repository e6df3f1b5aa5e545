"""A deterministic English-German parallel corpus generated from a small grammar and lexicon.

The corpus exists so that the project can train and score a translation model with no
download. It is small enough to learn in minutes, but not a word-for-word code: German
puts the finite verb second in main clauses (so a fronted adverb or clause moves the
subject behind it), puts participles and infinitives at the end of the clause, puts the
finite verb last in subordinate clauses, inflects articles and adjectives by gender, case
and number, contracts "in dem" to "im", and writes numbers as one word with the unit before
the ten ("twenty-one" is "einundzwanzig").

Usage:

    python -m lingvo.tasks.mt.tools.synthetic_corpus --out=/tmp/synth \
        --num_train=20000 --num_dev=500 --num_test=500 --seed=1

writes `train.{en,de}`, `dev.{en,de}` and `test.{en,de}`, one sentence per line. The held-out
sets are drawn first and no English or German sentence appears in two sets.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import re
import sys
from collections.abc import Sequence

__all__ = [
    "SPLITS",
    "AlignContentWords",
    "Generate",
    "GenerateSplits",
    "NumberToEnglish",
    "NumberToGerman",
    "WriteSplits",
]

SPLITS = ("train", "dev", "test")
MIN_WORDS = 3
MAX_WORDS = 25

# ------------------------------------------------------------------------------ lexicon


@dataclasses.dataclass(frozen=True)
class _Noun:
    en_sg: str
    en_pl: str
    de_sg: str
    de_pl: str
    gender: str  # "m", "f" or "n".

    @property
    def de_dat_pl(self) -> str:
        # German dative plurals add -n unless the plural already ends in -n or -s.
        return self.de_pl if self.de_pl.endswith(("n", "s")) else self.de_pl + "n"


def _Nouns(text: str) -> tuple[_Noun, ...]:
    return tuple(_Noun(*line.split()) for line in text.strip().splitlines())


# No weak nouns (der Junge, den Jungen) and no English nouns whose plural equals the
# singular (sheep): both would need rules, or make an English sentence ambiguous.
_ANIMATE = _Nouns("""
man men Mann Männer m
woman women Frau Frauen f
child children Kind Kinder n
girl girls Mädchen Mädchen n
teacher teachers Lehrer Lehrer m
doctor doctors Arzt Ärzte m
cook cooks Koch Köche m
baker bakers Bäcker Bäcker m
singer singers Sänger Sänger m
painter painters Maler Maler m
friend friends Freund Freunde m
sister sisters Schwester Schwestern f
brother brothers Bruder Brüder m
mother mothers Mutter Mütter f
father fathers Vater Väter m
king kings König Könige m
queen queens Königin Königinnen f
dog dogs Hund Hunde m
cat cats Katze Katzen f
horse horses Pferd Pferde n
bird birds Vogel Vögel m
mouse mice Maus Mäuse f
cow cows Kuh Kühe f
pig pigs Schwein Schweine n
fox foxes Fuchs Füchse m
duck ducks Ente Enten f
goat goats Ziege Ziegen f
frog frogs Frosch Frösche m
wolf wolves Wolf Wölfe m
rabbit rabbits Kaninchen Kaninchen n
""")

_THINGS = _Nouns("""
apple apples Apfel Äpfel m
book books Buch Bücher n
car cars Auto Autos n
ball balls Ball Bälle m
table tables Tisch Tische m
chair chairs Stuhl Stühle m
letter letters Brief Briefe m
flower flowers Blume Blumen f
bottle bottles Flasche Flaschen f
cup cups Tasse Tassen f
window windows Fenster Fenster n
door doors Tür Türen f
tree trees Baum Bäume m
boat boats Boot Boote n
bicycle bicycles Fahrrad Fahrräder n
hat hats Hut Hüte m
shoe shoes Schuh Schuhe m
key keys Schlüssel Schlüssel m
picture pictures Bild Bilder n
song songs Lied Lieder n
cake cakes Kuchen Kuchen m
egg eggs Ei Eier n
stone stones Stein Steine m
box boxes Kiste Kisten f
bag bags Tasche Taschen f
lamp lamps Lampe Lampen f
bed beds Bett Betten n
""")

# Places for "in the ...": always singular and definite.
_PLACES = _Nouns("""
garden gardens Garten Gärten m
house houses Haus Häuser n
kitchen kitchens Küche Küchen f
park parks Park Parks m
forest forests Wald Wälder m
city cities Stadt Städte f
school schools Schule Schulen f
village villages Dorf Dörfer n
""")

# English adjective, German stem. Stems that change when inflected (dunkel, teuer) are left
# out; stems ending in -e take only -n / -s / -r endings (müde -> müden).
_ADJECTIVES = tuple(
    tuple(line.split())
    for line in """
big groß
small klein
old alt
young jung
red rot
blue blau
green grün
black schwarz
white weiß
yellow gelb
happy glücklich
tired müde
nice nett
beautiful schön
fast schnell
slow langsam
new neu
heavy schwer
clever klug
brave mutig
hungry hungrig
quiet leise
funny lustig
strong stark
poor arm
rich reich
""".strip().splitlines()
)


@dataclasses.dataclass(frozen=True)
class _Verb:
    en_base: str
    en_3sg: str
    en_pp: str
    de_inf: str  # Also the 3rd person plural present.
    de_3sg: str
    de_pp: str
    aux: str = "haben"  # The perfect's auxiliary: "haben" or "sein".


def _Verbs(text: str) -> tuple[_Verb, ...]:
    return tuple(_Verb(*line.split()) for line in text.strip().splitlines())


_TRANSITIVE = _Verbs("""
see sees seen sehen sieht gesehen
buy buys bought kaufen kauft gekauft
find finds found finden findet gefunden
carry carries carried tragen trägt getragen
paint paints painted malen malt gemalt
wash washes washed waschen wäscht gewaschen
hold holds held halten hält gehalten
draw draws drawn zeichnen zeichnet gezeichnet
catch catches caught fangen fängt gefangen
visit visits visited besuchen besucht besucht
open opens opened öffnen öffnet geöffnet
hear hears heard hören hört gehört
need needs needed brauchen braucht gebraucht
bring brings brought bringen bringt gebracht
sell sells sold verkaufen verkauft verkauft
take takes taken nehmen nimmt genommen
love loves loved lieben liebt geliebt
count counts counted zählen zählt gezählt
eat eats eaten essen isst gegessen
""")

_INTRANSITIVE = _Verbs("""
sleep sleeps slept schlafen schläft geschlafen haben
run runs run laufen läuft gelaufen sein
sing sings sung singen singt gesungen haben
laugh laughs laughed lachen lacht gelacht haben
wait waits waited warten wartet gewartet haben
play plays played spielen spielt gespielt haben
dance dances danced tanzen tanzt getanzt haben
swim swims swum schwimmen schwimmt geschwommen sein
work works worked arbeiten arbeitet gearbeitet haben
""")

# English (singular, plural), German (singular, plural).
_AUX = {"haben": ("has", "have", "hat", "haben"), "sein": ("has", "have", "ist", "sind")}
_MODALS = (
    ("can", "can", "kann", "können"),
    ("must", "must", "muss", "müssen"),
    ("wants to", "want to", "will", "wollen"),
)
_SAY_VERBS = (
    ("says", "say", "sagt", "sagen"),
    ("thinks", "think", "denkt", "denken"),
    ("knows", "know", "weiß", "wissen"),
)
_ADVERBS = (
    ("today", "heute"),
    ("now", "jetzt"),
    ("often", "oft"),
    ("sometimes", "manchmal"),
    ("tomorrow", "morgen"),
)
_CONJUNCTIONS = (
    ("because", "weil"),
    ("although", "obwohl"),
    ("if", "wenn"),
    ("while", "während"),
)
_PREPOSITIONS = (("with", "mit"), ("next to", "neben"))

# ------------------------------------------------------------------------------ numbers


def _Words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_EN_UNITS = _Words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_EN_TENS = _Words("_ _ twenty thirty forty fifty sixty seventy eighty ninety")
_DE_UNITS = _Words(
    "null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn "
    "fünfzehn sechzehn siebzehn achtzehn neunzehn"
)
_DE_TENS = _Words("_ _ zwanzig dreißig vierzig fünfzig sechzig siebzig achtzig neunzig")


def NumberToEnglish(n: int) -> str:
    """Spells 1..9999 in English words, e.g. 2021 -> "two thousand twenty-one".

    Raises:
      ValueError: `n` outside 1..9999.
    """
    if not 1 <= n <= 9999:
        raise ValueError(f"NumberToEnglish: expected 1..9999, got {n}")
    words = []
    thousands, rest = divmod(n, 1000)
    hundreds, rest = divmod(rest, 100)
    if thousands:
        words += [_EN_UNITS[thousands], "thousand"]
    if hundreds:
        words += [_EN_UNITS[hundreds], "hundred"]
    if rest >= 20:
        tens, unit = divmod(rest, 10)
        words.append(_EN_TENS[tens] + (f"-{_EN_UNITS[unit]}" if unit else ""))
    elif rest:
        words.append(_EN_UNITS[rest])
    return " ".join(words)


def NumberToGerman(n: int) -> str:
    """Spells 1..9999 as one German word, unit before ten: 21 -> "einundzwanzig".

    Raises:
      ValueError: `n` outside 1..9999.
    """
    if not 1 <= n <= 9999:
        raise ValueError(f"NumberToGerman: expected 1..9999, got {n}")
    thousands, rest = divmod(n, 1000)
    hundreds, rest = divmod(rest, 100)
    out = ""
    # "ein" inside compounds (eintausend, einhundert, einundzwanzig); "eins" only at the end.
    if thousands:
        out += ("ein" if thousands == 1 else _DE_UNITS[thousands]) + "tausend"
    if hundreds:
        out += ("ein" if hundreds == 1 else _DE_UNITS[hundreds]) + "hundert"
    if rest >= 20:
        tens, unit = divmod(rest, 10)
        if unit:
            out += ("ein" if unit == 1 else _DE_UNITS[unit]) + "und"
        out += _DE_TENS[tens]
    elif rest:
        out += _DE_UNITS[rest]
    return out


def _SampleCount(rng: random.Random) -> int:
    """A count of at least 2 for a plural noun phrase, mostly small."""
    while True:
        r = rng.random()
        if r < 0.55:
            n = rng.randint(2, 12)
        elif r < 0.85:
            n = rng.randint(13, 99)
        elif r < 0.95:
            n = rng.randint(100, 999)
        else:
            n = rng.randint(1000, 9999)
        # "hunderteins Hunde" / "one hundred one dogs" read badly in both languages.
        if n % 100 != 1:
            return n


# ------------------------------------------------------------------------------ grammar

_DEF_ARTICLE = {
    "nom": {"m": "der", "f": "die", "n": "das", "pl": "die"},
    "acc": {"m": "den", "f": "die", "n": "das", "pl": "die"},
    "dat": {"m": "dem", "f": "der", "n": "dem", "pl": "den"},
}
_INDEF_ARTICLE = {
    "nom": {"m": "ein", "f": "eine", "n": "ein"},
    "acc": {"m": "einen", "f": "eine", "n": "ein"},
    "dat": {"m": "einem", "f": "einer", "n": "einem"},
}
# Adjective endings after the definite article (weak), after ein (mixed), and with no
# article before a plural count (strong).
_WEAK = {
    "nom": {"m": "e", "f": "e", "n": "e", "pl": "en"},
    "acc": {"m": "en", "f": "e", "n": "e", "pl": "en"},
    "dat": {"m": "en", "f": "en", "n": "en", "pl": "en"},
}
_MIXED = {
    "nom": {"m": "er", "f": "e", "n": "es"},
    "acc": {"m": "en", "f": "e", "n": "es"},
    "dat": {"m": "en", "f": "en", "n": "en"},
}
_STRONG_PLURAL = {"nom": "e", "acc": "e", "dat": "en"}


def _Inflect(stem: str, ending: str) -> str:
    if stem.endswith("e") and ending.startswith("e"):
        ending = ending[1:]
    return stem + ending


@dataclasses.dataclass
class _NounPhrase:
    noun: _Noun
    kind: str  # "def", "indef" or "count".
    plural: bool
    count: int
    adjectives: tuple[tuple[str, str], ...]

    def English(self) -> list[str]:
        adjs = [a for a, _ in self.adjectives]
        noun = self.noun.en_pl if self.plural else self.noun.en_sg
        first = ([*adjs, noun])[0]
        if self.kind == "def":
            det = ["the"]
        elif self.kind == "indef":
            det = ["an" if first[0] in "aeiou" else "a"]
        else:
            det = NumberToEnglish(self.count).split()
        return det + adjs + [noun]

    def German(self, case: str) -> list[str]:
        key = "pl" if self.plural else self.noun.gender
        if self.kind == "def":
            det, endings = [_DEF_ARTICLE[case][key]], _WEAK[case][key]
        elif self.kind == "indef":
            det, endings = [_INDEF_ARTICLE[case][key]], _MIXED[case][key]
        else:
            det, endings = [NumberToGerman(self.count)], _STRONG_PLURAL[case]
        adjs = [_Inflect(stem, endings) for _, stem in self.adjectives]
        if not self.plural:
            noun = self.noun.de_sg
        else:
            noun = self.noun.de_dat_pl if case == "dat" else self.noun.de_pl
        return det + adjs + [noun]


def _SampleNounPhrase(
    rng: random.Random, nouns: Sequence[_Noun], max_adjectives: int = 2
) -> _NounPhrase:
    noun = rng.choice(nouns)
    r = rng.random()
    if r < 0.45:
        kind, plural = "def", False
    elif r < 0.6:
        kind, plural = "def", True
    elif r < 0.8:
        kind, plural = "indef", False
    else:
        kind, plural = "count", True
    count = _SampleCount(rng) if kind == "count" else 1
    r = rng.random()
    num_adjs = 0 if r < 0.5 else 1 if r < 0.9 or max_adjectives < 2 else 2
    adjs = tuple(rng.sample(_ADJECTIVES, num_adjs))
    return _NounPhrase(noun, kind, plural, count, adjs)


@dataclasses.dataclass
class _Clause:
    """One clause, rendered in English order or in one of German's three orders."""

    subject: _NounPhrase
    verb: _Verb
    obj: _NounPhrase | None
    tense: str  # "present", "perfect" or "modal".
    modal: tuple[str, str, str, str]
    pp: tuple[str, list[str], list[str]] | None  # (kind, English words, German words).

    def English(self) -> list[str]:
        pl = self.subject.plural
        v = self.verb
        if self.tense == "present":
            verb = [v.en_base if pl else v.en_3sg]
        elif self.tense == "perfect":
            verb = [_AUX[v.aux][1 if pl else 0], v.en_pp]
        else:
            verb = [*(self.modal[1] if pl else self.modal[0]).split(), v.en_base]
        out = self.subject.English() + verb
        if self.obj is not None:
            out += self.obj.English()
        if self.pp is not None:
            out += self.pp[1]
        return out

    def German(self, order: str) -> list[str]:
        """German words; `order` is "main" (verb second), "inverted" or "sub" (verb last)."""
        pl = self.subject.plural
        v = self.verb
        if self.tense == "present":
            finite, rest = v.de_inf if pl else v.de_3sg, []
        elif self.tense == "perfect":
            finite, rest = _AUX[v.aux][3 if pl else 2], [v.de_pp]
        else:
            finite, rest = self.modal[3 if pl else 2], [v.de_inf]
        middle = [] if self.obj is None else self.obj.German("acc")
        if self.pp is not None:
            middle += self.pp[2]
        subject = self.subject.German("nom")
        if order == "main":
            return [*subject, finite, *middle, *rest]
        if order == "inverted":
            return [finite, *subject, *middle, *rest]
        return subject + middle + rest + [finite]


def _SamplePrepositionalPhrase(rng: random.Random) -> tuple[str, list[str], list[str]]:
    if rng.random() < 0.5:
        place = rng.choice(_PLACES)
        # "in dem" contracts to "im"; "in der" does not.
        de = ["im"] if place.gender in "mn" else ["in", "der"]
        return "in", ["in", "the", place.en_sg], [*de, place.de_sg]
    en_prep, de_prep = rng.choice(_PREPOSITIONS)
    np_ = _SampleNounPhrase(rng, _ANIMATE + _THINGS, max_adjectives=1)
    return "with", en_prep.split() + np_.English(), [de_prep, *np_.German("dat")]


def _SampleClause(rng: random.Random) -> _Clause:
    subject = _SampleNounPhrase(rng, _ANIMATE)
    if rng.random() < 0.7:
        verb = rng.choice(_TRANSITIVE)
        obj = _SampleNounPhrase(rng, _ANIMATE + _THINGS)
    else:
        verb, obj = rng.choice(_INTRANSITIVE), None
    r = rng.random()
    tense = "present" if r < 0.5 else "perfect" if r < 0.75 else "modal"
    pp = _SamplePrepositionalPhrase(rng) if rng.random() < 0.3 else None
    return _Clause(subject, verb, obj, tense, rng.choice(_MODALS), pp)


def _Sentence(rng: random.Random) -> tuple[list[str], list[str]]:
    """One sentence pair as word lists; commas are separate words until `_Finish`."""
    r = rng.random()
    if r < 0.35:
        c = _SampleClause(rng)
        return c.English(), c.German("main")
    if r < 0.5:
        # A fronted adverb takes the first position: the verb comes before the subject.
        en_adv, de_adv = rng.choice(_ADVERBS)
        c = _SampleClause(rng)
        return [en_adv, *c.English()], [de_adv, *c.German("inverted")]
    if r < 0.7:
        # Main clause, then a subordinate clause with the finite verb last.
        en_conj, de_conj = rng.choice(_CONJUNCTIONS)
        main, sub = _SampleClause(rng), _SampleClause(rng)
        return (
            [*main.English(), en_conj, *sub.English()],
            [*main.German("main"), ",", de_conj, *sub.German("sub")],
        )
    if r < 0.85:
        speaker = _SampleNounPhrase(rng, _ANIMATE, max_adjectives=1)
        say = rng.choice(_SAY_VERBS)
        c = _SampleClause(rng)
        pl = speaker.plural
        return (
            [*speaker.English(), say[1] if pl else say[0], "that", *c.English()],
            [*speaker.German("nom"), say[3] if pl else say[2], ",", "dass", *c.German("sub")],
        )
    # A fronted subordinate clause fills the first position, so the main verb comes next.
    en_conj, de_conj = rng.choice(_CONJUNCTIONS)
    sub, main = _SampleClause(rng), _SampleClause(rng)
    return (
        [en_conj, *sub.English(), ",", *main.English()],
        [de_conj, *sub.German("sub"), ",", *main.German("inverted")],
    )


def _Finish(words: list[str]) -> str:
    """Joins words, attaches commas, capitalises the first letter and adds a full stop."""
    text = " ".join(words).replace(" ,", ",")
    return text[0].upper() + text[1:] + "."


def Generate(num: int, seed: int = 1) -> list[tuple[str, str]]:
    """Generates `num` distinct (English, German) sentence pairs.

    Args:
      num: The number of pairs.
      seed: The random seed; the same seed gives the same pairs in the same order.

    Returns:
      The pairs, each of 3..25 English words; no English or German sentence repeats.

    Raises:
      ValueError: The grammar cannot produce `num` distinct pairs (it has far more than a
        million, so only a very large `num` can fail).
    """
    rng = random.Random(seed)
    seen_en: set[str] = set()
    seen_de: set[str] = set()
    pairs: list[tuple[str, str]] = []
    misses = 0
    while len(pairs) < num:
        en_words, de_words = _Sentence(rng)
        n_en = sum(1 for w in en_words if w != ",")
        if not MIN_WORDS <= n_en <= MAX_WORDS:
            continue
        en, de = _Finish(en_words), _Finish(de_words)
        if en in seen_en or de in seen_de:
            misses += 1
            if misses > 100 * (num + 100):
                raise ValueError(f"Generate: only {len(pairs)} distinct pairs for {num}")
            continue
        seen_en.add(en)
        seen_de.add(de)
        pairs.append((en, de))
    return pairs


def GenerateSplits(
    num_train: int, num_dev: int, num_test: int, seed: int = 1
) -> dict[str, list[tuple[str, str]]]:
    """The train, dev and test pairs, disjoint on both sides.

    Dev and test are drawn first, so the held-out sets stay the same whatever `num_train`.

    Args:
      num_train: Training pairs.
      num_dev: Development pairs.
      num_test: Test pairs.
      seed: The random seed.

    Returns:
      {"train": pairs, "dev": pairs, "test": pairs}.
    """
    pairs = Generate(num_dev + num_test + num_train, seed)
    return {
        "dev": pairs[:num_dev],
        "test": pairs[num_dev : num_dev + num_test],
        "train": pairs[num_dev + num_test :],
    }


def WriteSplits(out_dir: str, splits: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    """Writes `<split>.en` and `<split>.de` (UTF-8, one sentence per line) for each split.

    Returns:
      {"<split>.<lang>": path} of the files written.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for split, pairs in splits.items():
        for lang, index in (("en", 0), ("de", 1)):
            path = os.path.join(out_dir, f"{split}.{lang}")
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.writelines(p[index] + "\n" for p in pairs)
            paths[f"{split}.{lang}"] = path
    return paths


# ------------------------------------------------------------------------------ analysis


def _GlossTable() -> dict[str, set[str]]:
    """English noun and verb forms -> their German forms, lower case."""
    table: dict[str, set[str]] = {}
    for n in _ANIMATE + _THINGS + _PLACES:
        for en in (n.en_sg, n.en_pl):
            table.setdefault(en, set()).update(w.lower() for w in (n.de_sg, n.de_pl, n.de_dat_pl))
    for v in _TRANSITIVE + _INTRANSITIVE:
        for en in (v.en_base, v.en_3sg, v.en_pp):
            table.setdefault(en, set()).update((v.de_inf, v.de_3sg, v.de_pp))
    return table


_GLOSS = _GlossTable()


def AlignContentWords(en: str, de: str) -> list[int]:
    """German positions of the English sentence's nouns and verbs, in English order.

    A word-for-word gloss would keep these positions increasing; German verb placement
    makes them decrease somewhere in most sentences with an auxiliary, a modal, a fronted
    adverb or a subordinate clause. Each German word is used once, left to right among
    equal candidates.

    Args:
      en: An English sentence of this corpus.
      de: Its German translation.

    Returns:
      For each English noun or verb with a German form in `de`, that form's word index.
    """
    tokenize = lambda s: re.findall(r"[\w-]+", s.lower())  # noqa: E731
    de_words = tokenize(de)
    used: set[int] = set()
    out = []
    for word in tokenize(en):
        forms = _GLOSS.get(word)
        if not forms:
            continue
        for i, de_word in enumerate(de_words):
            if i not in used and de_word in forms:
                used.add(i)
                out.append(i)
                break
    return out


# ------------------------------------------------------------------------------ command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lingvo.tasks.mt.tools.synthetic_corpus",
        description="Writes a deterministic synthetic English-German corpus: "
        "train/dev/test .en and .de files.",
    )
    parser.add_argument("--out", required=True, help="Output directory.")
    parser.add_argument("--num_train", type=int, default=20000, help="Training pairs.")
    parser.add_argument("--num_dev", type=int, default=500, help="Development pairs.")
    parser.add_argument("--num_test", type=int, default=500, help="Test pairs.")
    parser.add_argument("--seed", type=int, default=1, help="Random seed.")
    args = parser.parse_args(argv)
    for name in ("num_train", "num_dev", "num_test"):
        if getattr(args, name) < 0:
            parser.error(f"--{name} must be >= 0, got {getattr(args, name)}")
    splits = GenerateSplits(args.num_train, args.num_dev, args.num_test, args.seed)
    WriteSplits(args.out, splits)
    for split in SPLITS:
        print(
            f"{split}: {len(splits[split])} pairs -> {args.out}/{split}.{{en,de}}", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
