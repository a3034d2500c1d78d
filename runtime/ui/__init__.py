"""``teal ui``: a JSON API over a project and its run store (server.py, project_view.py,
run_view.py) and a static front end (static/: plain HTML, CSS and JavaScript, with the dagre
graph layout library vendored, so it works offline)."""
