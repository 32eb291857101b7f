"""A clinic's day: patients and supporters using Trellis at once (run by bench/clinic_day.py).

Each simulated person is one real account prepared by bench/clinic_day.py, which writes
their session cookie, CSRF token and enrollments to the JSON file named by
CLINIC_DAY_PEOPLE. Page views are the HTML pages a browser opens; writes go through the
JSON API with a fresh client id each, as the app sends them.

Patients (weight 19 of 20, so 95%), waiting 5 to 15 s between actions (think time):
  open Today (weight 4); open the next step and finish it (2); a mood check-in (2);
  answer a questionnaire when one is due (1); read their messages and send one (1).
Supporters (weight 1 of 20, so 5%), waiting 5 to 15 s between actions:
  open the caseload (3); open a patient's record (2); read a thread and reply (1).

Run it directly only against a prepared database:

    CLINIC_DAY_PEOPLE=people.json .venv/bin/locust -f bench/locustfile_clinic_day.py \\
        --headless -u 100 -r 10 -t 60s --host http://127.0.0.1:8766
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import random
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task

PEOPLE: dict[str, Any] = (
    json.loads(Path(os.environ["CLINIC_DAY_PEOPLE"]).read_text())
    if os.environ.get("CLINIC_DAY_PEOPLE")
    else {"patients": [], "supporters": [], "questionnaires": {}}
)
_next_patient = itertools.count()
_next_supporter = itertools.count()
# CLINIC_DAY_THINK=0 (the warm-up) sends each person's actions back to back, so every page
# and write reaches every server worker before anything is measured.
THINK = between(0, 0) if os.environ.get("CLINIC_DAY_THINK") == "0" else between(5, 15)


def _log_collector_pauses(path: str) -> None:
    """Append each of this process's garbage collections over 20 ms to `path` (time,
    generation, ms): a pause of the load generator delays its requests and adds to the
    response times it measures."""
    started = [0.0]

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        took = (time.perf_counter() - started[0]) * 1000
        if took > 20:
            with open(path, "a") as log:
                log.write(f"{time.time():.3f} gen{info['generation']} {took:.1f}\n")

    gc.callbacks.append(note)


if os.environ.get("CLINIC_DAY_GC_LOG"):
    _log_collector_pauses(os.environ["CLINIC_DAY_GC_LOG"])

MOOD_NOTES = ["", "", "Slept badly", "A good walk today", "Tired but fine"]
MESSAGES = [
    "I tried the breathing exercise this morning.",
    "This week has been harder than last.",
    "Thank you, that helped.",
]
REPLIES = [
    "Thanks for letting me know. Well done for keeping going.",
    "That sounds hard. Try the grounding exercise when it builds up.",
]


def step_answer(step: dict[str, Any], questionnaires: dict[str, dict[str, int]]) -> dict:
    """What a patient sends when finishing `step` (a step summary from the API's Today)."""
    kind, exercise = step["kind"], step.get("exercise", "")
    if kind == "reflection":
        return {"text": "I notice my shoulders tense up before meetings."}
    if kind == "questionnaire":
        instrument = PEOPLE.get("step_instruments", {}).get(step["key"], "")
        return {"answers": questionnaires.get(instrument, {})}
    if kind != "exercise":
        return {}
    return EXERCISE_ANSWERS.get(exercise, {})


EXERCISE_ANSWERS: dict[str, dict[str, Any]] = {
    "paced_breathing": {"minutes": 5, "breaths": 30},
    "grounding": {"see": "A window", "hear": "Traffic"},
    "mindfulness": {},
    "journaling": {"text": "Today I noticed that I worry less when I go outside."},
    "thought_record": {
        "situation": "Before a meeting",
        "automatic_thought": "I will say something wrong",
        "emotion": "Anxious",
        "intensity_before": 70,
        "evidence_for": "I stumbled once",
        "evidence_against": "Usually it goes fine",
        "balanced_thought": "I have prepared and people are kind",
        "intensity_after": 40,
    },
    "behavioural_activation": {
        "activity": "Walk round the block",
        "planned_date": date.today().isoformat(),
        "done": False,
    },
}


class Person(HttpUser):
    abstract = True
    wait_time = THINK
    person: dict[str, Any]

    def write_headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-CSRFToken": self.person["csrf"],
            "Referer": f"{self.host}/",
        }

    def sign_in(self, person: dict[str, Any]) -> None:
        self.person = person
        self.client.headers["Cookie"] = f"sessionid={person['cookie']}; csrftoken={person['csrf']}"

    def post_json(self, path: str, body: dict[str, Any], name: str) -> Any:
        return self.client.post(
            path, data=json.dumps(body), headers=self.write_headers(), name=name
        )

    def get_page(self, path: str, name: str) -> Any:
        # A page that sends the browser elsewhere (sign-in, onboarding) is an error here.
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"status {r.status_code}")
            return r


class Patient(Person):
    weight = 19

    def on_start(self) -> None:
        patients = PEOPLE["patients"]
        self.sign_in(patients[next(_next_patient) % len(patients)])
        self.enrollment = self.person["enrollments"][0]
        self.api = f"/api/v1/journey/enrollments/{self.enrollment}"

    @task(4)
    def open_today(self) -> None:
        self.get_page("/today/", "page: today")

    @task(2)
    def do_a_step(self) -> None:
        today = self.client.get(f"{self.api}/today", name="api: today").json()
        step = today.get("next_step")
        if not step:
            return
        self.get_page(f"/steps/{step['key']}/", "page: step")
        self.post_json(
            f"{self.api}/steps/{step['key']}/complete",
            {
                "client_id": str(uuid.uuid4()),
                "response": step_answer(step, PEOPLE["questionnaires"]),
                "duration_s": random.randint(60, 600),
            },
            "write: finish step",
        )

    @task(2)
    def check_in_mood(self) -> None:
        self.post_json(
            f"{self.api}/moods",
            {
                "client_id": str(uuid.uuid4()),
                "score": random.randint(3, 9),
                "note": random.choice(MOOD_NOTES),
            },
            "write: mood check-in",
        )

    @task(1)
    def answer_due_questionnaire(self) -> None:
        measures = f"/api/v1/measures/enrollments/{self.enrollment}"
        due = self.client.get(f"{measures}/due", name="api: due questionnaires").json()
        if not due:
            return
        first = due[0]
        self.post_json(
            f"{measures}/responses",
            {
                "client_id": str(uuid.uuid4()),
                "instrument": first["instrument"],
                "assignment_id": first["id"],
                "answers": PEOPLE["questionnaires"].get(first["instrument"], {}),
            },
            "write: questionnaire",
        )

    @task(1)
    def read_and_send_a_message(self) -> None:
        self.get_page("/messages/", "page: my messages")
        self.post_json(
            f"/api/v1/messaging/enrollments/{self.enrollment}/messages",
            {"client_id": str(uuid.uuid4()), "body": random.choice(MESSAGES)},
            "write: patient message",
        )


class Supporter(Person):
    weight = 1

    def on_start(self) -> None:
        supporters = PEOPLE["supporters"]
        self.sign_in(supporters[next(_next_supporter) % len(supporters)])

    def a_patient(self) -> str:
        return str(random.choice(self.person["enrollments"]))

    @task(3)
    def open_caseload(self) -> None:
        self.get_page("/clinic/caseload/", "page: caseload")

    @task(2)
    def open_a_record(self) -> None:
        self.get_page(f"/clinic/caseload/enrollments/{self.a_patient()}/", "page: patient record")

    @task(1)
    def reply(self) -> None:
        enrollment = self.a_patient()
        self.get_page(f"/clinic/messages/{enrollment}/", "page: thread")
        self.post_json(
            f"/api/v1/messaging/enrollments/{enrollment}/messages",
            {"client_id": str(uuid.uuid4()), "body": random.choice(REPLIES)},
            "write: supporter reply",
        )
