"""The probe datasets: true and false statements generated from packaged facts (tzdata's zone.tab
and iso-codes' country names; number words), each with its row-aligned negation."""

import csv
import json
import os
import random
import unicodedata

ZONE_TAB = "/usr/share/zoneinfo/zone.tab"
ISO_3166 = "/usr/share/iso-codes/json/iso_3166-1.json"



NAME_OVERRIDES = {"RU": "Russia"}  # iso-codes has no common name for "Russian Federation"
NOT_CITIES = {"Lord Howe", "Lindeman", "Noronha", "Kamchatka", "Sakhalin", "Danmarkshavn", "Thule",  # islands, regions, stations
              "Macau"}  # "Macau is in Macao": a spelling give-away


def fold(text):
    """Lower case without accents, "St " spelled out: for comparing city and country names."""
    text = unicodedata.normalize("NFKD", text.replace("St ", "Saint "))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def country_names():
    with open(ISO_3166, encoding="utf-8") as fh:
        entries = json.load(fh)["3166-1"]
    names = {}
    for entry in entries:
        name = NAME_OVERRIDES.get(entry["alpha_2"]) or entry.get("common_name") or entry["name"]
        if "," in name or "(" in name:
            continue  # e.g. "Virgin Islands, British": no clean short name
        names[entry["alpha_2"]] = name
    return names


THE_NAMES = {"Netherlands", "Philippines", "Bahamas", "Gambia", "Maldives", "Comoros"}


def with_article(country):
    words = country.split()
    if (country in THE_NAMES or words[0] in ("United",) or words[-1] in ("Islands", "Republic", "Federation", "Emirates")
            or "Republic" in words or "Kingdom" in words or "States" in words):
        return "the " + country
    return country


def cities_rows(seed=7):
    """(city, true country, tz region) from tzdata's zone.tab, one per zone in a continent region."""
    names = country_names()
    seen, cities = set(), []
    with open(ZONE_TAB, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            code, _, zone = line.rstrip("\n").split("\t")[:3]
            region = zone.split("/")[0]
            if region not in ("Europe", "Asia", "Africa", "America", "Australia") or code not in names:
                continue
            city = zone.split("/")[-1].replace("_", " ")
            country = names[code]
            if fold(city) in fold(country) or fold(country) in fold(city) or city in seen or city in NOT_CITIES:
                continue  # "Kuwait is in Kuwait", "St Lucia", "Curacao" ...: a lexical give-away
            seen.add(city)
            cities.append((city, code, region))
    rng = random.Random(seed)
    codes = sorted({code for _, code, _ in cities})
    rows = []
    for city, code, region in cities:
        wrong = rng.choice([c for c in codes if c != code])
        rows.append((city, names[code], region, 1))
        rows.append((city, names[wrong], region, 0))
    rng.shuffle(rows)
    return rows


def write_city_csvs(out_dir):
    rows = cities_rows()
    files = {}
    for name, negated in (("cities", False), ("neg_cities", True)):
        path = os.path.join(out_dir, f"{name}.csv")
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["statement", "label", "has_not", "city_in_europe"])
            for city, country, region, true in rows:
                verb = "is not in" if negated else "is in"
                writer.writerow([f"The city of {city} {verb} {with_article(country)}.",
                                 1 - true if negated else true, int(negated), int(region == "Europe")])
        files[name] = path
    return files, len(rows)


ONES = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TENS = {5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety"}


def number_word(n):
    tens, ones = divmod(n, 10)
    return TENS[tens] + ("-" + ONES[ones] if ones else "")


def write_number_csvs(out_dir, n_rows=600, seed=11):
    rng = random.Random(seed)
    pairs = [(x, y) for x in range(51, 100) for y in range(51, 100) if x != y]
    larger = [p for p in pairs if p[0] > p[1]]
    smaller = [p for p in pairs if p[0] < p[1]]
    chosen = rng.sample(larger, n_rows // 2) + rng.sample(smaller, n_rows // 2)
    rng.shuffle(chosen)
    files = {}
    for name, negated in (("larger_than", False), ("neg_larger_than", True)):
        path = os.path.join(out_dir, f"{name}.csv")
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["statement", "label", "has_not", "first_is_even"])
            for x, y in chosen:
                verb = "is not larger than" if negated else "is larger than"
                true = int(x > y)
                writer.writerow([f"{number_word(x).capitalize()} {verb} {number_word(y)}.",
                                 1 - true if negated else true, int(negated), int(x % 2 == 0)])
        files[name] = path
    return files, len(chosen)

