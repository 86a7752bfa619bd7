"""Sphinx settings for the course's static site (`python3 course.py site`; see site/build.py).

site/build.py executes the notebooks (nbclient, widget state stored) into a staging folder with
this file, a generated home page and the JavaScript the pages need, then runs Sphinx on it.
MyST-NB renders the executed notebooks; the Sphinx Book Theme gives the sidebar, previous/next
links and a Binder button per notebook. Nothing is loaded from a CDN when a page is viewed.
"""

import json
from pathlib import Path

# Written by site/build.py from the README's Binder link: the repository and branch Binder opens.
SETTINGS = json.loads((Path(__file__).parent / "settings.json").read_text())

project = "Generative Adversarial Networks: a hands-on course"
language = SETTINGS.get("language", "en")  # the theme's own words (search, navigation) in the site's language
author = "the GAN course's authors"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", ".doctrees", "**.ipynb_checkpoints"]

# The notebooks arrive executed; MyST-NB only renders them.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

# Widgets drawn from their stored final state by @jupyter-widgets/html-manager, and the
# mathematics by MathJax, both served from _static/vendor (fetched from the npm registry at build time).
html_static_path = ["_static"]
nb_ipywidgets_js = {"vendor/html-manager/embed.js": {}}
mathjax_path = "vendor/mathjax/tex-chtml.js"

html_theme = "sphinx_book_theme"
html_title = "GAN course"
html_copy_source = False
html_show_sourcelink = False
html_show_copyright = False
html_theme_options = {
    "repository_url": f"https://github.com/{SETTINGS['repository']}",
    "repository_branch": SETTINGS["branch"],
    "path_to_docs": "",
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    "use_download_button": False,
    "use_fullscreen_button": False,
    "show_prev_next": True,
    "home_page_in_toc": True,
}
