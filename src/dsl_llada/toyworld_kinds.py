"""The toy world's document kinds (data): for each kind, how its facts are drawn and the
templates its sources and summaries are rendered from. ``toyworld`` holds the logic that renders
them into documents, references and benchmarks.

Templates are WikiText-style (single spaces, punctuation as separate tokens); ``{slot}`` is
filled from the facts, and ``[optional clause]`` is kept with probability 0.5.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from .toyworld_lexicon import FIRST_NAMES, SURNAMES, PLACES, DAYS, SMALL_WORDS, COSTS, COUNTS, PERCENTS, WEEKS


@dataclass(frozen=True)
class DocumentKind:
    """A document kind: how to draw its facts and how to render them.

    ``sentences`` maps a sentence type to (source renderings, summary renderings);
    ``sections`` lists (core sentence types, filler sentences, shuffle?) in document
    order, where shuffle=False keeps the core order and slots fillers in between; ``main`` renders the summary's main sentence(s); ``extras`` are sentence
    types a longer summary may add.
    """

    name: str
    sample: Callable[[random.Random], dict]
    sentences: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]
    sections: tuple[tuple[tuple[str, ...], tuple[str, ...], bool], ...]
    main: tuple[str, ...]
    extras: tuple[str, ...]


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"


def _two_places(rng: random.Random) -> tuple[str, str]:
    a, b = rng.sample(PLACES, 2)
    return a, b


# Quotes are lower-case clauses so they work both as direct and as reported speech.
_QUOTE_SOURCE = (
    '" {quote} , " said {speaker} , {role} .',
    '{speaker} , {role} , said : " {quote} . "',
    '" {quote} , " {role} {speaker} told reporters .',
)
_QUOTE_SUMMARY = ("{speaker} said {quote} .", "{role} {speaker} said {quote} .", "according to {speaker} , {quote} .")

_NEWS_FILLERS = (
    "{place} is a market town in the north of the country .",
    "The town has a population of about {town_size} people .",
    "More details are expected later this week .",
    "The story was first reported by the local newspaper .",
    "Officials are due to meet again next month .",
    "The area has seen several similar events in recent years .",
    "Further updates will be given by officials .",
)


def _news_kind(
    name: str,
    sample: Callable[[random.Random], dict],
    roles: tuple[str, ...],
    quotes: tuple[str, ...],
    lead: tuple[str, ...],
    main: tuple[str, ...],
    details: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
    fillers: tuple[str, ...],
) -> DocumentKind:
    """News layout: the lead first, then details, quote and background in random order."""

    def sample_news(rng: random.Random) -> dict:
        slots = sample(rng)
        # kinds may fix these themselves (the match is in the home team's town)
        slots.setdefault("place", rng.choice(PLACES))
        slots.setdefault("day", rng.choice(DAYS))
        slots["town_size"] = rng.choice(COUNTS[10:])
        slots["speaker"] = _person(rng)
        # roles and quotes may mention other slots (the venue, the team)
        slots["role"] = rng.choice(roles).format(**slots)
        slots["quote"] = rng.choice(quotes).format(**slots)
        slots["kind"] = name
        return slots

    sentences = {"lead": (lead, ()), "quote": (_QUOTE_SOURCE, _QUOTE_SUMMARY), **details}
    body = tuple(details) + ("quote",)
    return DocumentKind(
        name, sample_news, sentences, ((("lead",), (), False), (body, fillers + _NEWS_FILLERS, True)), main, body
    )


def _sample_council(rng: random.Random) -> dict:
    project, noun = rng.choice(
        (
            ("build a new bridge over the river", "bridge"),
            ("open a new primary school", "school"),
            ("repair the old railway station", "station"),
            ("expand the town hospital", "hospital"),
            ("build a new sports centre", "sports centre"),
            ("turn the old market into a park", "park"),
        )
    )
    return {
        "project": project,
        "noun": noun,
        "cost": rng.choice(COSTS),
        "votes_for": rng.choice(("12", "14", "15", "18", "20")),
        "votes_against": rng.choice(("3", "4", "5", "6", "8")),
    }


_COUNCIL = _news_kind(
    "council",
    _sample_council,
    roles=("the mayor", "the council leader", "a council spokesperson"),
    quotes=("this is a good day for {place}", "the work will help local families", "we have listened to residents"),
    lead=(
        "the town council in {place} approved a plan to {project} on {day} .",
        "councillors in {place} have approved a plan to {project} , officials said on {day} .",
        "a plan to {project} in {place} was approved by the town council on {day} .",
    ),
    main=(
        "the town council in {place} has approved a plan to {project} [on {day}] .",
        "a plan to {project} in {place} has been approved [by the town council] .",
        "councillors in {place} have backed a plan to {project} [at a cost of {cost} million pounds] .",
        "{place} will {project} after councillors approved the plan [on {day}] .",
        "{place} councillors have voted to {project} .",
    ),
    details={
        "cost": (
            (
                "the {noun} will cost {cost} million pounds .",
                "the work is expected to cost about {cost} million pounds .",
                "officials said the {noun} would cost {cost} million pounds .",
            ),
            (
                "the {noun} will cost {cost} million pounds .",
                "the work is expected to cost {cost} million pounds .",
                "it will cost about {cost} million pounds .",
            ),
        ),
        "vote": (
            (
                "councillors voted {votes_for} to {votes_against} in favour of the plan .",
                "the plan was passed by {votes_for} votes to {votes_against} .",
            ),
            (
                "the vote was {votes_for} to {votes_against} .",
                "councillors voted {votes_for} to {votes_against} in favour .",
                "the plan passed by {votes_for} votes to {votes_against} .",
            ),
        ),
    },
    fillers=(
        "the plan was first proposed two years ago .",
        "some residents had raised concerns about the cost .",
        "work is expected to start next year .",
        "a public meeting was held in {place} last month .",
        "the decision followed a long debate .",
        "opposition members said the money should be spent elsewhere .",
    ),
)


def _sample_match(rng: random.Random) -> dict:
    home, away = _two_places(rng)
    suffixes = ("United", "Rovers", "City", "Athletic", "Town")
    winner = rng.randint(1, 5)
    return {
        "place": home,
        "team1": f"{home} {rng.choice(suffixes)}",
        "team2": f"{away} {rng.choice(suffixes)}",
        "score1": str(winner),
        "score2": str(rng.randint(0, winner - 1)),
        "comp": rng.choice(("cup final", "league match", "regional final", "county cup semi final")),
        "scorer": _person(rng),
        "crowd": rng.choice(COUNTS[9:]),
    }


_MATCH = _news_kind(
    "match",
    _sample_match,
    roles=("the {team1} manager", "the {team1} captain"),
    quotes=("the players worked very hard", "this win means a lot to our fans", "we were the better side today"),
    lead=(
        "{team1} beat {team2} {score1} - {score2} in the {comp} on {day} .",
        "{team1} won the {comp} on {day} after a {score1} - {score2} victory over {team2} .",
        "{team2} were beaten {score1} - {score2} by {team1} in the {comp} on {day} .",
    ),
    main=(
        "{team1} beat {team2} {score1} - {score2} [in the {comp}] [on {day}] .",
        "{team1} won the {comp} with a {score1} - {score2} win over {team2} .",
        "{team2} lost {score1} - {score2} to {team1} [in the {comp}] .",
        "a {score1} - {score2} win over {team2} gave {team1} victory in the {comp} .",
        "{team1} won {score1} - {score2} against {team2} [on {day}] .",
    ),
    details={
        "scorer": (
            (
                "{scorer} scored the winning goal for {team1} .",
                "the winning goal was scored by {scorer} .",
                "{scorer} scored the decisive goal late in the game .",
            ),
            ("{scorer} scored the winning goal .", "the winner came from {scorer} .", "{scorer} scored for {team1} ."),
        ),
        "crowd": (
            ("the match was watched by {crowd} fans .", "a crowd of {crowd} fans attended the game ."),
            ("{crowd} fans watched the match .", "the crowd was {crowd} .", "a crowd of {crowd} saw the game ."),
        ),
    },
    fillers=(
        "the two sides had met twice earlier this season .",
        "rain fell for much of the first half .",
        "the crowd cheered as the final whistle blew .",
        "{team2} had won the previous meeting .",
        "both teams made changes before the match .",
        "the next round will be played next month .",
    ),
)


def _sample_jobs(rng: random.Random) -> dict:
    jobs = rng.choice(COUNTS[:10])
    staff = rng.choice([c for c in COUNTS if int(c) > 2 * int(jobs)])
    return {
        "company": rng.choice(
            (
                "Apex Motors",
                "Northwind Foods",
                "Harbor Steel",
                "Bluefield Textiles",
                "Crestline Paper",
                "Summit Glass",
                "Redwood Electronics",
                "Ironvale Engineering",
            )
        ),
        "jobs": jobs,
        "staff": staff,
        "reason": rng.choice(("falling sales", "rising energy costs", "a drop in demand", "cheaper imports")),
    }


_JOBS = _news_kind(
    "jobs",
    _sample_jobs,
    roles=("a company spokesperson", "a union leader", "the factory manager"),
    quotes=(
        "this is a very difficult decision",
        "we will support every member of staff",
        "the news is a heavy blow for the town",
    ),
    lead=(
        "{company} will cut {jobs} jobs at its factory in {place} , the firm said on {day} .",
        "the firm {company} announced on {day} that {jobs} jobs will go at its {place} factory .",
        "{jobs} jobs will be lost at the {company} factory in {place} , the company said on {day} .",
    ),
    main=(
        "{company} is to cut {jobs} jobs at its factory in {place} .",
        "{jobs} jobs are to go at the {company} factory in {place} [because of {reason}] .",
        "the firm {company} will cut {jobs} jobs in {place} [, blaming {reason}] .",
        "{company} plans to cut {jobs} jobs [at its {place} factory] [on {day}] .",
    ),
    details={
        "reason": (
            ("the company blamed {reason} .", "the firm said the cuts were caused by {reason} ."),
            (
                "the firm blamed {reason} .",
                "the cuts were blamed on {reason} .",
                "{company} said the cuts followed {reason} .",
            ),
        ),
        "staff": (
            ("the factory employs {staff} people .", "about {staff} people work at the site ."),
            (
                "the site employs {staff} people .",
                "about {staff} people work at the factory .",
                "the factory has {staff} workers .",
            ),
        ),
    },
    fillers=(
        "the factory has been open for more than forty years .",
        "it is one of the largest employers in the area .",
        "staff were told about the plans at a meeting .",
        "local leaders said they would try to help workers find new jobs .",
        "talks with unions will begin next week .",
        "the company has cut jobs at other sites in the past .",
    ),
)


def _sample_fire(rng: random.Random) -> dict:
    return {
        "building": rng.choice(("warehouse", "school", "hotel", "block of flats", "shop", "church")),
        "time": rng.choice(("morning", "afternoon", "evening", "night")),
        "people": rng.choice(COUNTS[:8]),
        "cause": rng.choice(("an electrical fault", "a gas leak", "a cooking accident", "a faulty heater")),
    }


_FIRE = _news_kind(
    "fire",
    _sample_fire,
    roles=("a fire service spokesperson", "the local fire chief", "a fire officer"),
    quotes=("our crews acted quickly", "people should stay away from the area", "it is lucky that no one was hurt"),
    lead=(
        "a large fire broke out at a {building} in {place} on {day} {time} .",
        "firefighters were called to a fire at a {building} in {place} on {day} {time} .",
        "a {building} in {place} was badly damaged by fire on {day} {time} .",
    ),
    main=(
        "a fire has badly damaged a {building} in {place} .",
        "a {building} in {place} was badly damaged by fire [on {day} {time}] .",
        "firefighters tackled a large fire at a {building} in {place} [on {day}] .",
        "{people} people were moved to safety after a fire at a {building} in {place} .",
    ),
    details={
        "people": (
            ("{people} people were moved to safety .", "crews helped {people} people leave the building ."),
            (
                "{people} people were moved to safety .",
                "{people} people were evacuated .",
                "{people} people had to leave the building .",
            ),
        ),
        "cause": (
            ("fire officers said the fire was caused by {cause} .", "the cause is thought to be {cause} ."),
            (
                "the fire was caused by {cause} .",
                "officers blamed {cause} .",
                "{cause} is thought to have caused the fire .",
            ),
        ),
    },
    fillers=(
        "smoke could be seen across the town .",
        "several roads were closed for some hours .",
        "six fire engines were sent to the scene .",
        "the building had been checked by inspectors last year .",
        "nearby homes were not affected .",
        "an investigation will start next week .",
    ),
)


def _sample_opening(rng: random.Random) -> dict:
    return {
        "venue": rng.choice(("museum", "library", "park", "art gallery", "concert hall", "swimming pool")),
        "visitors": rng.choice(COUNTS[5:14]),
        "cost": rng.choice(COSTS),
    }


_OPENING = _news_kind(
    "opening",
    _sample_opening,
    roles=("the mayor", "the director of the new {venue}"),
    quotes=(
        "the {venue} is a gift to the whole town",
        "we hope families will visit often",
        "this has been a long time coming",
    ),
    lead=(
        "a new {venue} opened in {place} on {day} .",
        "{place} opened its new {venue} to the public on {day} .",
        "the doors of a new {venue} in {place} opened on {day} .",
    ),
    main=(
        "a new {venue} has opened in {place} [on {day}] .",
        "{place} has opened a new {venue} [, which cost {cost} million pounds] .",
        "more than {visitors} people visited the new {venue} in {place} on its first day .",
        "the new {venue} in {place} opened to the public [on {day}] .",
    ),
    details={
        "visitors": (
            (
                "more than {visitors} people visited on the first day .",
                "{visitors} people came to see the {venue} on its first day .",
            ),
            (
                "more than {visitors} people visited on the first day .",
                "{visitors} people came on the opening day .",
                "it drew {visitors} visitors on its first day .",
            ),
        ),
        "cost": (
            (
                "the {venue} cost {cost} million pounds to build .",
                "building the {venue} cost about {cost} million pounds .",
            ),
            (
                "the {venue} cost {cost} million pounds .",
                "it cost {cost} million pounds to build .",
                "building it cost about {cost} million pounds .",
            ),
        ),
    },
    fillers=(
        "the building took three years to complete .",
        "entry will be free for local children .",
        "the {venue} will be open every day except Monday .",
        "a band played outside the main doors .",
        "local schools have already booked visits .",
        "the project was paid for partly by local businesses .",
    ),
)


def _sample_robbery(rng: random.Random) -> dict:
    day_robbed, day_court = rng.sample(DAYS, 2)
    return {
        "shop": rng.choice(("bank", "jewellery shop", "petrol station", "post office", "supermarket")),
        "men": rng.choice(SMALL_WORDS),
        "value": rng.choice(COSTS[4:]),
        "day": day_robbed,
        "court_day": day_court,
    }


_ROBBERY = _news_kind(
    "robbery",
    _sample_robbery,
    roles=("a police spokesperson", "the local police chief", "a detective"),
    quotes=(
        "we are grateful for the help of the public",
        "there is no wider risk to the public",
        "our inquiries are continuing",
    ),
    lead=(
        "police in {place} arrested {men} men after a robbery at a {shop} on {day} .",
        "{men} men have been arrested after a {shop} in {place} was robbed on {day} .",
        "a {shop} in {place} was robbed on {day} and police later arrested {men} men .",
    ),
    main=(
        "{men} men have been arrested after a robbery at a {shop} in {place} .",
        "police in {place} have arrested {men} men over a robbery at a {shop} [on {day}] .",
        "a robbery at a {shop} in {place} has led to the arrest of {men} men .",
        "police have arrested {men} men after a {shop} in {place} was robbed .",
        "{men} men were arrested after a {shop} robbery in {place} [on {day}] .",
    ),
    details={
        "value": (
            ("the robbers took about {value} thousand pounds .", "goods worth {value} thousand pounds were stolen ."),
            (
                "about {value} thousand pounds was taken .",
                "the robbers took {value} thousand pounds .",
                "goods worth {value} thousand pounds were stolen .",
            ),
        ),
        "court": (
            (
                "the men will appear in court on {court_day} .",
                "all {men} men are due to appear in court on {court_day} .",
            ),
            (
                "they will appear in court on {court_day} .",
                "the men are due in court on {court_day} .",
                "all {men} will appear in court on {court_day} .",
            ),
        ),
    },
    fillers=(
        "no one was hurt during the robbery .",
        "the street was closed while officers searched the area .",
        "shop staff were given support after the event .",
        "witnesses described hearing loud shouts .",
        "police have asked anyone with information to come forward .",
        "it is the second robbery in the area this year .",
    ),
)


def _sample_trial(rng: random.Random) -> dict:
    condition, measure = rng.choice(
        (
            ("type 2 diabetes", "blood glucose"),
            ("high blood pressure", "systolic blood pressure"),
            ("asthma", "asthma attacks"),
            ("chronic kidney disease", "protein loss in the urine"),
            ("heart failure", "hospital admissions"),
            ("migraine", "headache days"),
            ("depression", "depression scores"),
            ("obesity", "body weight"),
            ("rheumatoid arthritis", "joint pain"),
            ("psoriasis", "skin lesions"),
            ("insomnia", "time to fall asleep"),
            ("chronic back pain", "pain scores"),
        )
    )
    return {
        "kind": "trial",
        "condition": condition,
        "measure": measure,
        "drug": rng.choice(
            (
                "Loravin",
                "Cetrazol",
                "Mebrafen",
                "Doxilan",
                "Veratide",
                "Sorimab",
                "Talunex",
                "Fendorin",
                "Kalvorin",
                "Pexitan",
                "Rivodil",
                "Zentrafil",
                "Obrexa",
                "Quinatol",
                "Hemivar",
                "Sylorin",
            )
        ),
        "group": rng.choice(("adults", "older adults", "women", "men", "patients")),
        "comparator": rng.choice(("placebo", "standard care", "usual treatment")),
        "design": rng.choice(("randomised controlled trial", "double blind trial", "multicentre trial")),
        "n": rng.choice(COUNTS[:11]),
        "hospitals": rng.choice(SMALL_WORDS),
        "place": rng.choice(PLACES),
        "weeks": rng.choice(WEEKS),
        "percent": rng.choice(PERCENTS),
        "side_effect": rng.choice(("nausea", "headache", "dizziness", "dry mouth", "fatigue", "skin rash")),
        "severity": rng.choice(("mild", "rare", "mostly mild", "uncommon")),
        "funder": rng.choice(("national research council", "a medical charity", "the regional health service")),
    }


_TRIAL = DocumentKind(
    "trial",
    _sample_trial,
    sentences={
        "bg": (
            (
                "{condition} is a common condition that affects many {group} .",
                "{condition} affects millions of {group} worldwide .",
                "many {group} with {condition} do not respond well to current treatments .",
            ),
            (),
        ),
        "drug": (
            (
                "{drug} is a new oral drug that showed promise in early studies .",
                "{drug} is a new medicine that targets a key cause of {condition} .",
                "early studies suggested that {drug} may help {group} with {condition} .",
            ),
            (),
        ),
        "design": (
            (
                "we conducted a {design} of {n} {group} with {condition} at {hospitals} hospitals in {place} .",
                "this {design} enrolled {n} {group} with {condition} from {hospitals} hospitals in {place} .",
                "we recruited {n} {group} with {condition} at {hospitals} hospitals in {place} for a {design} .",
            ),
            (),
        ),
        "arms": (
            (
                "patients received {drug} or {comparator} for {weeks} weeks .",
                "participants were assigned to {drug} or {comparator} for {weeks} weeks .",
                "each patient took {drug} or {comparator} daily for {weeks} weeks .",
            ),
            (
                "treatment lasted {weeks} weeks .",
                "patients were treated for {weeks} weeks .",
                "the trial lasted {weeks} weeks .",
            ),
        ),
        "outcome": (
            (
                "the primary outcome was the change in {measure} .",
                "the main outcome was {measure} at the end of treatment .",
            ),
            (),
        ),
        "result": (
            (
                "after {weeks} weeks , {drug} reduced {measure} by {percent} percent compared with {comparator} .",
                "{drug} reduced {measure} by {percent} percent compared with {comparator} .",
                "compared with {comparator} , {drug} lowered {measure} by {percent} percent .",
            ),
            (),
        ),
        "safety": (
            (
                "side effects were {severity} and included {side_effect} .",
                "the most common side effect was {side_effect} , and side effects were {severity} .",
                "side effects were {severity} ; the most common was {side_effect} .",
            ),
            (
                "side effects were {severity} .",
                "the most common side effect was {side_effect} .",
                "{drug} was well tolerated , and side effects were {severity} .",
            ),
        ),
        "concl": (
            (
                "{drug} may be a useful treatment for {group} with {condition} .",
                "these findings suggest that {drug} may help {group} with {condition} .",
            ),
            (
                "{drug} may be a useful treatment for {condition} .",
                "{drug} may help {group} with {condition} .",
                "these results support the use of {drug} for {condition} .",
            ),
        ),
    },
    sections=(
        (
            ("bg", "drug"),
            (
                "the disease places a large burden on health services .",
                "few treatments have been tested in large trials .",
                "its causes are not fully understood .",
                "rates of {condition} have risen over the past decade .",
            ),
            False,
        ),
        (
            ("design", "arms", "outcome"),
            (
                "the study was approved by the local ethics committee .",
                "all participants gave written consent .",
                "outcomes were measured by staff who did not know the treatment group .",
                "data were analysed by an independent team .",
            ),
            False,
        ),
        (
            ("result", "safety"),
            (
                "results were similar in men and women .",
                "few patients left the study early .",
                "most patients took their medicine as planned .",
                "no deaths occurred during the study .",
            ),
            False,
        ),
        (
            ("concl",),
            (
                "larger trials are needed to confirm these findings .",
                "longer follow up will show whether the benefit lasts .",
                "the study was funded by {funder} .",
            ),
            False,
        ),
    ),
    main=(
        "in a {design} of {n} {group} with {condition} , {drug} reduced {measure} by {percent} percent compared with {comparator} [after {weeks} weeks] .",
        "we tested {drug} in {n} {group} with {condition} [at {hospitals} hospitals in {place}] . it reduced {measure} by {percent} percent compared with {comparator} .",
        "this {design} assessed {drug} in {n} {group} with {condition} . compared with {comparator} , {drug} reduced {measure} by {percent} percent .",
        "{drug} reduced {measure} by {percent} percent versus {comparator} in a {design} of {n} {group} with {condition} .",
    ),
    extras=("arms", "safety", "concl"),
)


def _sample_paper(rng: random.Random) -> dict:
    task, datasets, metric = rng.choice(
        (
            ("image classification", ("ImageNet", "CIFAR-10"), "top-1 accuracy"),
            ("machine translation", ("WMT14", "IWSLT"), "BLEU"),
            ("text summarization", ("CNNDM", "XSum"), "ROUGE"),
            ("node classification", ("Cora", "Citeseer"), "accuracy"),
            ("speech recognition", ("LibriSpeech", "TIMIT"), "word accuracy"),
            ("object detection", ("COCO", "VOC"), "average precision"),
            ("question answering", ("SQuAD", "TriviaQA"), "F1 score"),
        )
    )
    return {
        "kind": "paper",
        "task": task,
        "dataset": rng.choice(datasets),
        "metric": metric,
        "method": rng.choice(
            (
                "FlowMix",
                "SparseNet",
                "GraphLens",
                "DeepAlign",
                "TinyFormer",
                "MetaRank",
                "PolyGate",
                "QuickProp",
                "NeuroPath",
                "LiteGAN",
                "CrossFuse",
                "EchoNet",
                "DeltaNorm",
                "PrismNet",
                "OrbitLM",
                "SwiftSeg",
            )
        ),
        "mtype": rng.choice(
            (
                "transformer",
                "graph neural network",
                "diffusion model",
                "recurrent network",
                "convolutional network",
                "mixture of experts model",
            )
        ),
        "idea": rng.choice(
            (
                "uses sparse attention to reduce memory",
                "learns a shared latent space for all inputs",
                "adds a simple gating layer to each block",
                "replaces softmax attention with a linear kernel",
                "is trained with a contrastive loss",
                "mixes local and global features",
                "prunes half of its weights during training",
                "reuses computation across layers",
            )
        ),
        "baseline": rng.choice(
            (
                "the previous best method",
                "a strong transformer baseline",
                "standard fine tuning",
                "the best published model",
            )
        ),
        "gain": rng.choice(("0.8", "1.2", "1.5", "2.1", "2.5", "3.0", "3.4", "4.2", "5.1", "6.3")),
        "speed": rng.choice(SMALL_WORDS[:4]),
        "benchmarks": rng.choice(SMALL_WORDS[1:]),
        "hours": rng.choice(("12", "24", "48", "72")),
        "seeds": rng.choice(("three", "five")),
    }


_PAPER = DocumentKind(
    "paper",
    _sample_paper,
    sentences={
        "intro": (
            (
                "{task} is a central problem in machine learning .",
                "{task} has attracted much attention in recent years .",
                "progress in {task} has been driven by larger models .",
            ),
            (),
        ),
        "gap": (
            (
                "existing methods are often slow and need large amounts of memory .",
                "current models for {task} are expensive to train .",
                "most existing approaches do not scale to long inputs .",
            ),
            (),
        ),
        "propose": (
            (
                "in this paper , we propose {method} , a {mtype} for {task} .",
                "we introduce {method} , a new {mtype} for {task} .",
                "this paper presents {method} , a {mtype} designed for {task} .",
            ),
            (),
        ),
        "idea": (
            (
                "{method} {idea} .",
                "the key idea is that {method} {idea} .",
                "unlike previous models , {method} {idea} .",
            ),
            (),
        ),
        "eval": (
            (
                "we evaluate {method} on {benchmarks} benchmarks , including {dataset} .",
                "experiments cover {benchmarks} benchmarks , among them {dataset} .",
            ),
            (
                "we evaluate it on {benchmarks} benchmarks .",
                "{method} is tested on {benchmarks} benchmarks .",
                "experiments cover {benchmarks} benchmarks .",
            ),
        ),
        "result": (
            (
                "on {dataset} , {method} improves {metric} by {gain} points over {baseline} .",
                "{method} improves {metric} on {dataset} by {gain} points compared with {baseline} .",
                "compared with {baseline} , {method} gains {gain} points of {metric} on {dataset} .",
            ),
            (),
        ),
        "speed": (
            (
                "{method} is also {speed} times faster at inference .",
                "at inference time , {method} runs {speed} times faster than {baseline} .",
            ),
            (
                "it is also {speed} times faster at inference .",
                "{method} also runs {speed} times faster .",
                "inference is {speed} times faster than with {baseline} .",
            ),
        ),
    },
    sections=(
        (
            ("intro", "gap"),
            (
                "deep learning has changed many areas of science .",
                "large models are costly to train and to deploy .",
                "many recent papers study this question .",
            ),
            False,
        ),
        (
            ("propose", "idea"),
            (
                "the model is trained end to end with a standard loss .",
                "we use the same settings for all experiments .",
                "the design adds very few new parameters .",
                "our implementation builds on a public code base .",
            ),
            False,
        ),
        (
            ("eval", "result", "speed"),
            (
                "training takes about {hours} hours on a single GPU .",
                "we also study the effect of model size .",
                "ablation studies confirm the value of each component .",
                "results are averaged over {seeds} random seeds .",
            ),
            False,
        ),
        (
            (),
            (
                "these results show that simple ideas can scale to large models .",
                "we hope this work will encourage further research .",
                "code and models will be released .",
                "future work will apply {method} to other tasks .",
            ),
            True,
        ),
    ),
    main=(
        "we propose {method} , a {mtype} for {task} that {idea} . on {dataset} , {method} improves {metric} by {gain} points over {baseline} .",
        "this paper introduces {method} , a new {mtype} for {task} . {method} {idea} and improves {metric} on {dataset} by {gain} points [over {baseline}] .",
        "we present {method} for {task} . the key idea is a {mtype} that {idea} . it gains {gain} points of {metric} on {dataset} [compared with {baseline}] .",
        "{method} is a {mtype} for {task} that {idea} . compared with {baseline} , it improves {metric} on {dataset} by {gain} points .",
    ),
    extras=("speed", "eval"),
)

KINDS_BY_DOMAIN: dict[str, tuple[DocumentKind, ...]] = {
    "news": (_COUNCIL, _MATCH, _JOBS, _FIRE, _OPENING, _ROBBERY),
    "biomedical": (_TRIAL,),
    "ml": (_PAPER,),
}
KINDS = {k.name: k for kinds in KINDS_BY_DOMAIN.values() for k in kinds}
