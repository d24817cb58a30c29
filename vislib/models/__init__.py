"""Models: the course profiles, the offline course models, weight conversion, transfer learning."""

