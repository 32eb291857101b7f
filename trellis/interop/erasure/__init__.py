"""Erasing a patient: the rules that allow or refuse it (`rules`), what it does to each
table (`steps`), and the actions (`services`): asking, refusing, erasing."""
