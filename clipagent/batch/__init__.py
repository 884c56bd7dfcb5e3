"""`clipagent variants`: one brief and one folder of footage become a matrix of platform-ready cuts
(matrix.py: which variants; variants.py: analyse once, plan/render/check each; executors.py:
where the jobs run; manifest.py: manifest.csv and manifest.json)."""
