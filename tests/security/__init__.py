"""Security suite: each test guards a defect of issue 13 and fails on the code as it landed (68a4c71)."""
