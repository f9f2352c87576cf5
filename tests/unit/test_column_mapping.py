"""Which column holds which contact field, proposed from headers in the languages people's
sheets come in, whatever their case and accents."""

from __future__ import annotations

import pytest

from outreach.contacts.mapping import propose_mapping


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ["Vorname", "Nachname", "E-Mail", "Firma", "Position", "Telefon"],
            ("Vorname", "Nachname", "E-Mail", "Firma", "Position"),
        ),
        (
            ["Prénom", "Nom", "Courriel", "Société", "Poste"],
            ("Prénom", "Nom", "Courriel", "Société", "Poste"),
        ),
        (
            ["PRENOM", "NOM", "E-mail", "Societe", "Fonction"],
            ("PRENOM", "NOM", "E-mail", "Societe", "Fonction"),
        ),
        (
            ["Nombre", "Apellidos", "Correo", "Empresa", "Cargo"],
            ("Nombre", "Apellidos", "Correo", "Empresa", "Cargo"),
        ),
        (
            ["Nome", "Cognome", "Posta elettronica", "Azienda", "Ruolo"],
            ("Nome", "Cognome", "Posta elettronica", "Azienda", "Ruolo"),
        ),
        (
            ["Voornaam", "Achternaam", "E-mailadres", "Bedrijf", "Functie"],
            ("Voornaam", "Achternaam", "E-mailadres", "Bedrijf", "Functie"),
        ),
        (
            ["Vorname", "Name", "Email", "Unternehmen", "Titel"],
            ("Vorname", "Name", "Email", "Unternehmen", "Titel"),
        ),
    ],
)
def test_common_european_headers_are_recognised(headers, expected):
    proposal = propose_mapping(headers)
    first, last, email, company, title = expected
    assert proposal["first_name"] == first
    assert proposal.get("last_name", proposal.get("name")) == last
    assert proposal["email"] == email
    assert proposal["company"] == company
    assert proposal["title"] == title


def test_english_headers_are_proposed_as_before():
    proposal = propose_mapping(["Name", "Company", "Email", "Website", "Job Title"])
    assert proposal == {
        "name": "Name",
        "company": "Company",
        "email": "Email",
        "website": "Website",
        "title": "Job Title",
    }
