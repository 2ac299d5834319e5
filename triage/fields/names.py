"""People, organisations, places and systems: rules, the system dictionary, jieba words and spaCy.

People, organisations and places come from jieba words with its dictionary's part-of-speech tags
plus Chinese rules ("张经理", "xx公司", "财务部", "国网湖北电力", "运检中心"), and, for English and
mixed text, from spaCy's English NER (see :class:`triage.fields.extractor.FieldExtractor`).
Lowercase English names ("user john smith") come from cue words and a first-name list, since the
cased model does not see them. Word lists live in ``resources/field_lexicon.yaml``.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from triage import safe_regex
from triage.fields.engine import TIER_MODEL, TIER_RULE, Candidate, Hit, Rx, alternation
from triage.fields.lexicon import load_lexicon, place_pattern
from triage.fields.table import HAN_CLASS, named_patterns

_HAN = safe_regex.compile(f"[{HAN_CLASS}]", name="Han character")
# Statistical taggers see at most this many characters; rules always see the whole text.
MODEL_MAX_CHARS = 10_000
# jieba's HMM (it finds words outside the dictionary: most Chinese names) is a Python Viterbi at
# about 25 us a character, 0.25 s for 10,000 unknown characters ("中" x 10,000); it reads this
# many characters, the dictionary alone the rest of ``MODEL_MAX_CHARS``.
HMM_MAX_CHARS = 2_000
# spaCy reads windows around capitalised words, at most this many characters of them (20,000 x
# "Caused by: " makes one window of the whole text): about 20 ms of NER.
NER_MAX_CHARS = 3_000
# Person cues ("user", "dear", "@", "name:") followed per text: a real ticket has a few dozen.
PERSON_CUES_MAX = 1_000


_LISTS = load_lexicon()


def _listed(key: str) -> tuple[str, ...]:
    """One whitespace-separated word list of ``resources/field_lexicon.yaml``, in its order."""
    return tuple(str(_LISTS[key]).split())


_EN_COMMON = frozenset(w.lower() for w in _listed("en_common_words"))
_EN_FIRST_NAMES = frozenset(w.lower() for w in _listed("en_first_names"))
# Whether a first name of the list starts a word somewhere in a text (not after a letter): the
# lowercase-word loop below can emit a person only then. In 1,300 real English tickets 9 texts
# had one: the others skip the ~35 word matches of that loop (about 115 us a ticket).
_FIRST_NAME_AT_WORD_START = safe_regex.compile(
    "(?:^|[^A-Za-z])(?:" + alternation(_EN_FIRST_NAMES) + ")", name="first name at a word start"
)
_EN_PLACES = place_pattern(_listed("en_places"), _listed("en_places_capitalised"))
_ZH_NON_PLACES = frozenset(_listed("zh_non_places"))
_ZH_ORG_GROUPS = frozenset(_listed("zh_org_groups"))
_ZH_ORG_INDUSTRIES = frozenset(_listed("zh_org_industries"))  # after a place: 湖北|电力, 北京|移动
_ZH_ORG_UNITS = _ZH_ORG_INDUSTRIES | frozenset(_listed("zh_org_units"))  # after a group: 国网|信通|调度
_ZH_ORG_SUFFIXES = tuple(sorted(set(_listed("zh_org_suffixes")), key=len, reverse=True))
_ZH_ORG_STOP = frozenset(_listed("zh_org_stop"))
_ZH_REGIONS = frozenset(
    p + d for p in _listed("zh_province_abbreviations") for d in "东西南北中"
)  # 蒙东, 冀北


def _starts_han(word: str) -> bool:
    """Whether ``word`` starts with a Chinese character (the ranges of ``HAN_CLASS``)."""
    return bool(word) and ("\u3400" <= word[0] <= "\u4dbf" or "\u4e00" <= word[0] <= "\u9fff")


def has_han(text: str) -> bool:
    """Whether ``text`` holds a Chinese character."""
    return _HAN.search(text) is not None


def english_sentences(text: str, limit: int) -> list[tuple[int, int]]:
    """Spans of English sentences in ``text[:limit]`` (Chinese text and line breaks end them too)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for hit in _P["en_sentence_break"].finditer(text[:limit]):
        end = hit.start()
        if end > start:
            spans.append((start, end))
        # After a stop, the space or bracket that follows it starts the next sentence.
        start = end + 1 if hit.has("stop") else hit.end()
    if start < limit:
        spans.append((start, limit))
    return spans


def english_words(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Word and punctuation spans of ``text[start:end]``."""
    return [(start + m.start(), start + m.end()) for m in _EN_WORD.finditer(text[start:end])]


# --------------------------------------------------------------------------- names, places, systems


# Built-in system dictionary. Names that are also common English words match in this case only.
_SYSTEMS_ANY_CASE = tuple(_LISTS["systems"])
_SYSTEMS_EXACT_CASE = _listed("systems_exact_case")
_SYSTEM_SUFFIXES = ("系统", "平台", "门户")
_ZH_SYSTEM_SUFFIX = safe_regex.compile("|".join(_SYSTEM_SUFFIXES), name="system suffix")
# Words that may sit inside a system name but do not start one ("营销业务应用系统", not "应用系统").
_SYSTEM_NON_INITIAL_RE = safe_regex.compile(
    "|".join(sorted(set(_listed("system_non_initial")), key=len, reverse=True)),
    name="non-initial system words",
)
# jieba tags of one-character words that may start a system name: 软视频系统, 云终端系统 (not 新).
_SYSTEM_CHAR_FLAGS = frozenset(_listed("system_char_tags"))
_CARRIERS = frozenset(_listed("carriers"))
_CARRIER_CONTEXT = frozenset(_listed("carrier_context"))
# Tokens that cannot start a system name ("登录报销系统" is logging into the 报销系统).
_SYSTEM_PREFIX_STOP = frozenset(_listed("system_prefix_stop"))
_SYSTEM_GENERIC = frozenset(_listed("system_generic"))
_SYSTEM_PREFIX_FLAGS = frozenset(_listed("system_prefix_tags"))

_SURNAMES = frozenset(_LISTS["surnames"])
_COMPOUND_SURNAMES = _listed("compound_surnames")
# One-character titles start many words ("王工程师" is fine, "工程", "总结" are not names).
_TITLE_CONTINUATIONS: Mapping[str, str] = _LISTS["title_continuations"]
_PERSON_TITLE_STOP = frozenset(_listed("person_title_stop"))
_NOT_IN_NAME = frozenset(_LISTS["not_in_name"])
_PERSON_STOP = frozenset(_listed("person_stop"))
_NT_SUFFIXES = (*_listed("org_suffixes_builtin"), *_listed("department_suffixes"))
_DEPT_STOP = frozenset(_listed("department_stop"))
_ORG_WALK_FLAGS = frozenset(_listed("org_walk_tags"))
_ORG_WALK_STOP = frozenset(_listed("org_walk_stop"))
_NEW_WORD = "new"  # tag for a word jieba's HMM found that its dictionary does not hold
_PLACE_SUFFIXES = frozenset(_LISTS["place_suffixes"])
# Surnames that are also everyday characters; an unknown word starting with one is not a name.
_COMMON_SURNAMES = _SURNAMES - frozenset(_LISTS["everyday_surnames"])
_CAMEL = safe_regex.compile(r"[a-z][A-Z]", name="camelCase")
_LOCATION_STOP = frozenset(_listed("location_stop"))

# English NER: the spaCy labels we keep, as our types.
_NER_LABELS: Mapping[str, str] = _LISTS["ner_labels"]
_EN_WORD = safe_regex.compile(
    "[A-Za-z0-9][A-Za-z0-9'’&_.-]*[A-Za-z0-9]|[A-Za-z0-9]|[^\\s\u3000\u00a0A-Za-z0-9]", name="English word"
)
_NER_WINDOW_WORDS = 1
_NER_JOIN = ". "
EN_STOP = frozenset(_listed("en_ner_stop"))


def _cue_boundary(hit: Hit, text: str) -> bool:
    """Cue words start a word; "@" is not inside an address; "corp\\" is a domain before a login."""
    start = hit.start()
    before = text[start - 1] if start else ""
    if hit.has("at"):
        return not (before.isalnum() or before in "_.")
    if hit.has("slash"):
        return (
            before.isascii()
            and before.isalnum()
            and _P["backslash_login"].match_at(text, hit.end()) is not None
        )
    return not (before.isascii() and before.isalpha())


#: The table's ``name_patterns`` (``resources/field_table.yaml``), by name.
_SURNAME = f"(?:{'|'.join(_COMPOUND_SURNAMES)}|[{''.join(sorted(_SURNAMES))}])"
_P = named_patterns(
    "name_patterns", {"cue_boundary": _cue_boundary}, SURNAME=_SURNAME, TITLES="|".join(_listed("titles"))
)
_NON_NAME_ENDINGS = _listed("en_non_name_endings")
_INFLECTIONS = ("s", "es", "ed", "d", "ing", "ly", "er", "ers")
_NER_JUNK = safe_regex.compile(r"^[^A-Za-z]+$|[@/\\:=<>{}\[\]|\n\t]", name="NER junk")


def chinese_rule_entities(text: str, out: list[Candidate]) -> None:
    for m in _P["person_title"].finditer(text):
        name = m.group(0)
        following = text[m.end() : m.end() + 1]
        if name in _PERSON_TITLE_STOP or (following and following in _TITLE_CONTINUATIONS.get(name[-1], "")):
            continue
        out.append(Candidate(m.start(), m.end(), "person", name))
    for m in _P["person_context"].finditer(text):
        name = m.group("id")
        if len(name) == 3 and name[2] in _NOT_IN_NAME:
            name = name[:2]
        if name[-1] in _NOT_IN_NAME:
            continue
        start = m.start("id")
        out.append(Candidate(start, start + len(name), "person", name))


def english_lowercase_persons(text: str, out: list[Candidate]) -> None:
    """People written in lowercase, found from cues (``en_person_cue`` in the field table) or a first name.

    At most ``PERSON_CUES_MAX`` cues are followed: each costs a few RE2 calls through its Python
    binding, and 20,000 x "@" would be 20,000 cues (0.15 s) for no name.
    """
    for m in itertools.islice(_P["en_person_cue"].finditer(text), PERSON_CUES_MAX):
        first = _P["en_name_word"].match_at(text, m.end())
        if first is None or not _name_like(first.group(0)):
            continue
        second = _next_name_word(text, first.end())
        if second is not None and _name_like(second.group(0)):
            _emit_person(text, first.start(), second.end(), out)
        elif m.has("title"):
            _emit_person(text, first.start(), first.end(), out)
    if ":" in text:
        for m in _P["en_speaker"].finditer(text):
            if _name_like(m.group("a")) and _name_like(m.group("b")):
                _emit_person(text, m.start("a"), m.end("b"), out)
    if _FIRST_NAME_AT_WORD_START.search(text) is None:
        return  # en_lower_word's matches start after no letter: none of them can be a first name
    for m in _P["en_lower_word"].finditer(text):
        if m.group(0) not in _EN_FIRST_NAMES:
            continue
        second = _next_name_word(text, m.end())
        if second is not None and second.group(0).islower() and _name_like(second.group(0)):
            _emit_person(text, m.start(), second.end(), out)


def english_places(text: str, out: list[Candidate]) -> None:
    """Countries, regions and large cities from the word list, in any case ("germany", "apac")."""
    for m in _EN_PLACES.finditer(text):
        out.append(Candidate(m.start(), m.end(), "location", m.group(0)))


def _next_name_word(text: str, pos: int) -> Hit | None:
    """The lowercase word after ``pos`` on the same line, with only spaces between."""
    gap = pos
    while gap < len(text) and text[gap] in " \t":
        gap += 1
    if gap == pos or gap - pos > 3:
        return None
    return _P["en_name_word"].match_at(text, gap)


def _name_like(word: str) -> bool:
    word = word.lower().removesuffix("'s").removesuffix("’s")
    if not 2 <= len(word) <= 20 or word in _EN_COMMON:
        return False
    if any(word.endswith(end) and word[: -len(end)] in _EN_COMMON for end in _INFLECTIONS):
        return False  # "requires", "locked", "printing"
    return not (len(word) > 5 and word.endswith(_NON_NAME_ENDINGS))


def _emit_person(text: str, start: int, end: int, out: list[Candidate]) -> None:
    name = text[start:end]
    for possessive in ("'s", "’s"):
        if name.endswith(possessive):
            name, end = name[: -len(possessive)], end - len(possessive)
    out.append(Candidate(start, end, "person", name))


def _guess_tag(word: str) -> str:
    """A tag for a word missing from jieba's dictionary."""
    if _starts_han(word):
        return _NEW_WORD
    if word.isascii() and any(ch.isalpha() for ch in word):
        return "eng"
    if word.isdigit():
        return "m"
    return "x"


def _plausible_chinese_name(word: str, known: bool) -> bool:
    """A dictionary ``nr`` word or an unknown word that looks like a surname plus given name."""
    if not 2 <= len(word) <= 4 or word in _PERSON_STOP or not all(_starts_han(ch) for ch in word):
        return False
    if word[-1] in _PLACE_SUFFIXES or word[-1] in _NOT_IN_NAME:
        return False
    if word.startswith(_COMPOUND_SURNAMES):
        return len(word) >= 3
    if len(word) > 3:
        return False
    if known:
        return word[0] in _SURNAMES
    return word[0] in _COMMON_SURNAMES and not any(ch in _NOT_IN_NAME for ch in word)


def _chinese_places(tokens: list[tuple[int, int, str, str]], text: str, out: list[Candidate]) -> None:
    """Places from dictionary ``ns`` words, chained into addresses: 杭州市滨江区网商路699号."""
    i, n = 0, len(tokens)
    while i < n:
        j = i
        while j < n and _is_place_token(tokens[j], first=j == i):
            j += 1
        if j == i:
            i += 1
            continue
        start, end = tokens[i][0], tokens[j - 1][1]
        if j + 1 < n and tokens[j][3] == "m" and tokens[j + 1][2] in ("号", "号楼", "弄"):
            end = tokens[j + 1][1]
            j += 2
        multi = j - i > 1
        out.append(
            Candidate(start, end, "location", text[start:end], TIER_RULE if multi else TIER_MODEL, "ner")
        )
        i = j


def _is_place_token(token: tuple[int, int, str, str], first: bool) -> bool:
    _, _, word, flag = token
    if len(word) < 2 or word in _LOCATION_STOP or word in _ZH_NON_PLACES or not _starts_han(word):
        return False
    if flag == "ns" or word in _ZH_REGIONS:
        return True
    # Unknown words ending like a place ("网商路") may start a chain; "超市", "小区" only extend one.
    return word[-1] in _PLACE_SUFFIXES and (flag == _NEW_WORD or (not first and flag == "n"))


def _chinese_systems(
    tokens: list[tuple[int, int, str, str]], text: str, in_organization: bytearray, out: list[Candidate]
) -> None:
    """Grow "系统"/"平台"/"门户" leftwards over up to three content words: 报销系统, 软视频系统,
    营销业务应用系统. An owning organisation or place ("国网湖北电力云终端系统") stays outside."""
    if not any(suffix in text for suffix in _SYSTEM_SUFFIXES):
        return
    starts = [t[0] for t in tokens]
    limit = tokens[-1][1] if tokens else 0
    for m in _ZH_SYSTEM_SUFFIX.finditer(text, 0, limit):
        s_start, s_end = m.span()
        if text[s_end : s_end + 1] in ("性", "化"):
            continue  # 系统性, 平台化
        i = bisect.bisect_right(starts, s_start) - 1
        t_start, t_end, _, _ = tokens[i]
        if t_end < s_end:
            continue  # the suffix straddles two words
        parts: list[tuple[int, str]] = []
        if t_start < s_start:
            glued = text[t_start:s_start]
            if glued in _SYSTEM_PREFIX_STOP or in_organization.find(1, t_start, s_start) != -1:
                continue  # "该系统", or a prefix inside an organisation name
            parts.append((t_start, glued))
        k = i - 1
        while k >= 0 and len(parts) < 3:
            p_start, p_end, p_word, p_flag = tokens[k]
            if (
                p_word in _SYSTEM_PREFIX_STOP
                or in_organization.find(1, p_start, p_end) != -1
                or s_start - p_start > 8
                or (len(p_word) >= 2 and p_flag == "ns")  # an owning place: 湖北|营销系统
                or not (p_flag in _SYSTEM_PREFIX_FLAGS or (len(p_word) == 1 and p_flag in _SYSTEM_CHAR_FLAGS))
            ):
                break
            parts.insert(0, (p_start, p_word))
            k -= 1
        start = parts[0][0] if parts else s_start
        # 管理信息系统 is generic; 营销业务应用系统 is not.
        while start < s_start and (generic := _SYSTEM_NON_INITIAL_RE.match(text, start, s_start)):
            start = generic.end()
        if start == s_start:
            if m.group(0) == "门户" and t_start == s_start:
                out.append(Candidate(t_start, t_end if t_end - t_start <= 4 else s_end, "system", "门户"))
            continue
        name = text[start:s_end]
        if len(name) >= 3 and name not in _SYSTEM_GENERIC:
            out.append(Candidate(start, s_end, "system", name))


def _organizations_from_tokens(
    tokens: list[tuple[int, int, str, str]], text: str, out: list[Candidate]
) -> None:
    """Chinese organisations: a name before a suffix (北京字节跳动科技有限公司, 宜昌供电公司, 运检中心),
    a group abbreviation with what follows it (国网湖北电力, 国网信通调度), a place with a trade
    (湖北电力, 北京移动), and the carriers (联通, 电信) where the context says so."""
    n = len(tokens)
    for i, (start, end, word, flag) in enumerate(tokens):
        if not _starts_han(word):
            continue
        suffix = _org_suffix(word)
        if suffix is not None and word not in _ZH_ORG_STOP:
            org_start = _organization_start(tokens, i)
            name = text[org_start:end]
            if end - org_start - len(suffix) >= 2 and name not in _ZH_ORG_STOP:
                out.append(Candidate(org_start, end, "organization", name))
        is_group = word in _ZH_ORG_GROUPS
        if is_group or (
            i + 1 < n and tokens[i + 1][2] in _ZH_ORG_INDUSTRIES and _is_place_token(tokens[i], True)
        ):
            j = i + 1
            while j < n and tokens[j][1] - start <= 20 and _continues_organization(tokens[j]):
                j += 1
            if j > i + 1 or (is_group and len(word) >= 4):
                out.append(Candidate(start, tokens[j - 1][1], "organization", text[start : tokens[j - 1][1]]))
        elif word in _CARRIERS and _carrier_in_context(tokens, i):
            out.append(Candidate(start, end, "organization", word))
        elif flag in ("nz", "nt") and any(
            word.endswith(industry) and len(word) - len(industry) >= 2 for industry in _ZH_ORG_INDUSTRIES
        ):
            out.append(Candidate(start, end, "organization", word))  # one dictionary word: 广东电信


def _org_suffix(word: str) -> str | None:
    if not word.endswith(_ZH_ORG_SUFFIXES):  # one C-level test for the common "no"
        return None
    return next((s for s in _ZH_ORG_SUFFIXES if word.endswith(s)), None)


def _organization_start(tokens: list[tuple[int, int, str, str]], i: int) -> int:
    """Walk left from a suffix over name-like words; a verb only right before the suffix and with a
    noun before it (技术保障中心, but not 通知运检中心)."""
    end = tokens[i][1]
    j = i
    while j > 0 and end - tokens[j - 1][0] <= 16:
        _, _, p_word, p_flag = tokens[j - 1]
        if p_word in _ORG_WALK_STOP or (not _starts_han(p_word) and p_flag != "eng"):
            break
        known = p_word in _ZH_ORG_GROUPS or p_word in _ZH_ORG_UNITS or p_word in _ZH_REGIONS
        verb_before_suffix = (
            p_flag in ("v", "vn") and j == i and j >= 2 and tokens[j - 2][3] in _ORG_WALK_FLAGS
        )
        if not (known or p_flag in _ORG_WALK_FLAGS or verb_before_suffix):
            break
        j -= 1
    return tokens[j][0]


def _continues_organization(token: tuple[int, int, str, str]) -> bool:
    word = token[2]
    if word in _ZH_ORG_UNITS or word in _ZH_ORG_GROUPS or word in _ZH_REGIONS:
        return True
    if _org_suffix(word) is not None and word not in _ZH_ORG_STOP:
        return True
    return _is_place_token(token, first=False) and token[3] == "ns"


def _carrier_in_context(tokens: list[tuple[int, int, str, str]], i: int) -> bool:
    """联通/电信/移动 name a carrier beside "中国", a line or network word, or another carrier."""
    previous = tokens[i - 1][2] if i > 0 else ""
    following = tokens[i + 1][2] if i + 1 < len(tokens) else ""
    if previous == "中国" or following in _CARRIER_CONTEXT:
        return True
    neighbours = (tokens[i - 2][2] if i > 1 else "", tokens[i + 2][2] if i + 2 < len(tokens) else "")
    return any(w in _CARRIERS for w in neighbours) and "、" in (previous, following)


def _clean_ner_span(ent_text: str, start: int, label: str, stop: frozenset[str]) -> tuple[int, int] | None:
    """Trim "the" and "'s" off a spaCy entity; ``None`` for junk."""
    end = start + len(ent_text)
    # Drop leading greetings and articles that spaCy glues on: "Hello Legal", "the Acme Corp".
    head, _, rest = ent_text.partition(" ")
    while rest and (head in stop or head == "the"):
        start += len(head) + 1
        ent_text = rest
        head, _, rest = ent_text.partition(" ")
    for suffix in ("'s", "’s"):
        if ent_text.endswith(suffix):
            ent_text = ent_text[: -len(suffix)]
            end -= len(suffix)
    if len(ent_text) < 2 or ent_text in stop or _NER_JUNK.search(ent_text):
        return None
    if not any(ch.isupper() for ch in ent_text) or _HAN.search(ent_text):
        return None
    if label != "ORG" and not any(ch.islower() for ch in ent_text):
        return None  # all-caps "PO", "URGENT": shouting or acronyms, not people or places
    return start, end


# --------------------------------------------------------------------------- system dictionary


@dataclass(frozen=True)
class SystemDictionary:
    """Known system names (built-in plus a deployment's own) and one pattern that finds them."""

    canonical: Mapping[str, str]
    pattern: Rx


def compile_systems(extra: Iterable[str]) -> SystemDictionary:
    """The built-in names, matched in any case except those that are also English words."""
    canonical: dict[str, str] = {}
    any_case: list[str] = []
    for name in (*_SYSTEMS_ANY_CASE, *extra):
        name = name.strip()
        if name:
            canonical[name.lower()] = name
            any_case.append(name)
    for name in _SYSTEMS_EXACT_CASE:
        canonical[name] = name
    pattern = Rx(
        rf"(?i:{alternation(any_case)})|{alternation(_SYSTEMS_EXACT_CASE)}",
        before=r"[A-Za-z0-9_]",
        after=r"[A-Za-z0-9_]",
        name="system dictionary",
    )
    return SystemDictionary(canonical, pattern)


# --------------------------------------------------------------------------- per-ticket extractors


def system_fields(text: str, systems: SystemDictionary, out: list[Candidate]) -> None:
    """Names from the system dictionary, snake_case tools and "xx系统" / "xx平台"."""
    for m in systems.pattern.finditer(text):
        name = m.group(0)
        canonical = systems.canonical.get(name) or systems.canonical.get(name.lower(), name)
        out.append(Candidate(m.start(), m.end(), "system", canonical, source="dictionary"))
    if "_" in text:
        for m in _P["snake_system"].finditer(text):
            out.append(Candidate(m.start(), m.end(), "system", m.group(0)))
    if "系统" in text or "平台" in text:
        for m in _P["system_suffix_ascii"].finditer(text):
            out.append(Candidate(m.start(), m.end(), "system", "".join(m.group(0).split())))


def chinese_tagged_entities(
    text: str, jieba: Any, word_tags: Mapping[str, str], out: list[Candidate]
) -> None:
    """People, organisations, places and "xx系统" names from jieba words and dictionary tags.

    jieba's own POS-HMM costs about 2 ms per ticket; its segmentation HMM plus the dictionary's
    tags costs a fifth of that, and a word the HMM found (tag ``new``) is a name candidate.
    """
    tokens: list[tuple[int, int, str, str]] = []
    pos = 0
    for word in _jieba_words(jieba, text[:MODEL_MAX_CHARS]):
        flag = word_tags.get(word) or _guess_tag(word)
        tokens.append((pos, pos + len(word), word, flag))
        pos += len(word)
    organizations: list[Candidate] = []
    _organizations_from_tokens(tokens, text, organizations)
    in_organization = bytearray(pos + 1)
    for c in organizations:
        in_organization[c.start : c.end] = b"\x01" * (c.end - c.start)
    out += organizations
    for i, (start, end, word, flag) in enumerate(tokens):
        if (
            flag in ("nr", _NEW_WORD)
            and word not in _ZH_REGIONS
            and _plausible_chinese_name(word, known=flag == "nr")
        ):
            out.append(Candidate(start, end, "person", word, TIER_MODEL, "ner"))
        elif flag == "nt" and len(word) >= 3 and word.endswith(_NT_SUFFIXES) and word not in _DEPT_STOP:
            out.append(Candidate(start, end, "organization", word, TIER_MODEL, "ner"))
        if word in ("部", "部门") and i > 0:
            p_start, _, p_word, p_flag = tokens[i - 1]
            if (
                p_flag in ("eng", "n", "vn", "nz", _NEW_WORD)
                and len(p_word) >= 2
                and p_word not in _ORG_WALK_STOP
            ):
                out.append(Candidate(p_start, end, "organization", text[p_start:end]))
        elif len(word) >= 3 and word.endswith("部") and word not in _DEPT_STOP and _starts_han(word):
            out.append(Candidate(start, end, "organization", word))
    _chinese_systems(tokens, text, in_organization, out)
    _chinese_places(tokens, text, out)


def _jieba_words(jieba: Any, text: str) -> Iterable[str]:
    """jieba's words of ``text``, with its HMM over the first ``HMM_MAX_CHARS`` only.

    The HMM part ends after a character jieba never puts inside a word (a space, punctuation), when
    one is near, so the words come out as one call over the whole text gives them.
    """
    if len(text) <= HMM_MAX_CHARS:
        yield from jieba.cut(text)
        return
    cut = HMM_MAX_CHARS
    for pos in range(HMM_MAX_CHARS, HMM_MAX_CHARS - 100, -1):
        if not (text[pos - 1].isalnum() or text[pos - 1] in _JIEBA_WORD_CHARS):
            cut = pos
            break
    yield from jieba.cut(text[:cut])
    yield from jieba.cut(text[cut:], HMM=False)


# Besides letters and digits, the characters jieba's blocks run over (its ``re_han_default``).
_JIEBA_WORD_CHARS = "+#&._%-"


@dataclass(frozen=True)
class NerPlan:
    """The windows of a text that spaCy reads, joined into one ``document``; see ``ner_plan``."""

    document: str
    windows: tuple[tuple[int, int], ...]
    joined_starts: tuple[int, ...]  # where each window starts in ``document``
    claimed: bytes  # 1 where a rule candidate already covers the character


def ner_plan(text: str, en_stop: frozenset[str], out: list[Candidate]) -> NerPlan | None:
    """The document spaCy's NER reads for ``text`` (after the rules filled ``out``); None: nothing.

    Short windows around capitalised words that could start a name. A word qualifies when no rule
    claimed it, it is not a stop word, not camelCase ("GlobalProtect") and, at the start of a
    sentence, is followed by another capitalised word ("Sarah Collins approved" qualifies,
    "Customer orders" does not). Split from the NER call (``add_ner_entities`` reads its result)
    so that a batch's documents go through spaCy together (``FieldExtractor.extract_many``).
    """
    limit = min(len(text), MODEL_MAX_CHARS)
    claimed = bytearray(limit)
    for c in out:
        if c.tier >= TIER_RULE and c.start < limit:
            claimed[c.start : min(c.end, limit)] = b"\x01" * (min(c.end, limit) - c.start)
    windows: list[tuple[int, int]] = []
    used = 0  # characters in the windows so far
    for sentence_start, sentence_end in english_sentences(text, limit):
        sentence = text[sentence_start:sentence_end]
        if sentence.lower() == sentence:
            continue  # no capital letter: no word that could start a name
        words = english_words(text, sentence_start, sentence_end)
        first_window = len(windows)
        for i, (start, end) in enumerate(words):
            if not _could_start_name(text, words, i, en_stop) or claimed.find(1, start, end) != -1:
                continue
            lo = words[max(0, i - _NER_WINDOW_WORDS)][0]
            hi = words[min(len(words) - 1, i + _NER_WINDOW_WORDS + 1)][1]
            if len(windows) > first_window and lo <= windows[-1][1] + 1:
                used += max(hi, windows[-1][1]) - windows[-1][1]
                windows[-1] = (windows[-1][0], max(hi, windows[-1][1]))
            else:
                used += hi - lo
                windows.append((lo, hi))
            if used >= NER_MAX_CHARS:
                break
        if used >= NER_MAX_CHARS:
            break
    if not windows:
        return None
    # One document for all windows (each spaCy call costs about 1 ms before its first token),
    # ended like sentences so that no entity runs from one window into the next.
    joined_starts = tuple(
        itertools.accumulate((hi - lo + len(_NER_JOIN) for lo, hi in windows[:-1]), initial=0)
    )
    document = _NER_JOIN.join(text[lo:hi] for lo, hi in windows)
    return NerPlan(document, tuple(windows), joined_starts, bytes(claimed))


def add_ner_entities(
    text: str, plan: NerPlan, doc: Any, en_stop: frozenset[str], out: list[Candidate]
) -> None:
    """The entities spaCy found in ``plan.document`` (``doc``), as candidates at their places in ``text``."""
    windows, joined_starts, claimed = plan.windows, plan.joined_starts, plan.claimed
    for ent in doc.ents:
        field_type = _NER_LABELS.get(ent.label_)
        if field_type is None:
            continue
        span = _clean_ner_span(ent.text, ent.start_char, ent.label_, en_stop)
        if span is None:
            continue  # junk, or an entity running across two windows (it holds the "\n")
        window = bisect.bisect_right(joined_starts, span[0]) - 1
        offset = windows[window][0] - joined_starts[window]
        start, end = span[0] + offset, span[1] + offset
        if claimed.find(1, start, end) == -1:
            out.append(Candidate(start, end, field_type, text[start:end], TIER_MODEL, "ner"))


def _could_start_name(text: str, words: list[tuple[int, int]], i: int, en_stop: frozenset[str]) -> bool:
    start, end = words[i]
    word = text[start:end]
    if len(word) < 2 or not word[0].isupper() or word in en_stop or _CAMEL.search(word, 1):
        return False
    if any(ch.isdigit() for ch in word):
        return False
    if i > 0:
        return True
    if i + 1 >= len(words):
        return False
    following = text[words[i + 1][0] : words[i + 1][1]]
    return following[0].isupper() and following not in en_stop
