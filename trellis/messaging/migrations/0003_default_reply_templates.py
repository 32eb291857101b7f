"""Trellis's default reply templates: two or more short, warm starting points for each
supportive gesture. Re-runnable: each default is found by its key and brought up to date,
so running it again changes nothing, and a clinic's own templates are never touched."""

from django.db import migrations

# (key, gesture, title, body). Placeholders are filled from the patient's record.
DEFAULTS = [
    (
        "reinforce-exercise-done",
        "task_reinforcement",
        "Well done on an exercise",
        "Hi {first_name}, well done on doing {last_exercise}. Practising like this is exactly "
        "how the skills start to stick. {supporter_name}",
    ),
    (
        "reinforce-week-of-practice",
        "task_reinforcement",
        "A good week of practice",
        "Hi {first_name}, you have done {exercises_this_week} exercises this week. That is "
        "real work, and it shows. Keep going at your own pace. {supporter_name}",
    ),
    (
        "prompt-next-step",
        "task_prompting",
        "A gentle nudge to the next step",
        "Hi {first_name}, when you have a quiet moment this week, the next part of "
        "{chapter_title} is waiting for you. Even ten minutes is worth it. {supporter_name}",
    ),
    (
        "prompt-after-a-break",
        "task_prompting",
        "Picking up after a break",
        "Hi {first_name}, it has been {days_since_last_activity} days since we last saw you in "
        "the program. No pressure: would trying {last_exercise} once more this week feel "
        "doable? {supporter_name}",
    ),
    (
        "efficacy-you-can-do-this",
        "self_efficacy",
        "You have what it takes",
        "Hi {first_name}, you have already shown you can do this: you finished "
        "{last_exercise}. The next steps build on what you have learned. {supporter_name}",
    ),
    (
        "efficacy-small-steps",
        "self_efficacy",
        "Small steps count",
        "Hi {first_name}, every small step you take in {chapter_title} builds your own way of "
        "handling hard moments. Trust what you are learning. {supporter_name}",
    ),
    (
        "empathy-hard-week",
        "empathy",
        "When things feel hard",
        "Hi {first_name}, it sounds like things have been hard lately. That makes sense, and "
        "you do not have to get through it alone. I am here. {supporter_name}",
    ),
    (
        "empathy-thank-you-for-sharing",
        "empathy",
        "Thank you for sharing",
        "Hi {first_name}, thank you for telling me how things are going. It takes courage to "
        "put it into words. {supporter_name}",
    ),
    (
        "affirm-progress",
        "affirming",
        "Noticing your progress",
        "Hi {first_name}, I can see the effort you are putting in. You are making progress, "
        "one step at a time. {supporter_name}",
    ),
    (
        "affirm-keep-going",
        "affirming",
        "Keep going",
        "Hi {first_name}, I am glad you are working through {chapter_title}. What you are "
        "doing matters. {supporter_name}",
    ),
]


def seed(apps, schema_editor):
    ReplyTemplate = apps.get_model("messaging", "ReplyTemplate")
    for key, gesture, title, body in DEFAULTS:
        existing = ReplyTemplate.objects.filter(organization__isnull=True, key=key).first()
        if existing is None:
            ReplyTemplate.objects.create(
                organization=None, key=key, gesture=gesture, title=title, body=body
            )
        elif (existing.gesture, existing.title, existing.body) != (gesture, title, body):
            existing.gesture, existing.title, existing.body = gesture, title, body
            existing.save(update_fields=["gesture", "title", "body", "updated_at"])


def unseed(apps, schema_editor):
    ReplyTemplate = apps.get_model("messaging", "ReplyTemplate")
    keys = [key for key, *_rest in DEFAULTS]
    ReplyTemplate.objects.filter(organization__isnull=True, key__in=keys).delete()


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_clinic_messaging_settings")]

    operations = [migrations.RunPython(seed, unseed)]
