#!/usr/bin/env bash
# Install the site's front-end assets from the npm registry (versions pinned in package-lock.json)
# and copy the files the site serves into vendor/site/ (git-ignored; html_static_path in _config.yml).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
rm -rf site.tmp && mkdir -p site.tmp/mathjax site.tmp/widgets
# MathJax: the component Sphinx loads (mathjax_path) and the folders it loads on demand
cp node_modules/mathjax/es5/tex-chtml.js site.tmp/mathjax/
find node_modules/mathjax/es5 -mindepth 1 -maxdepth 1 -type d -exec cp -R {} site.tmp/mathjax/ \;
cp node_modules/requirejs/require.js site.tmp/require.js
# the widget manager (AMD build, for require.js) and the icon fonts it references
find node_modules/@jupyter-widgets/html-manager/dist -maxdepth 1 -type f ! -name '*.map' \
  ! -name 'embed.js*' ! -name 'libembed-amd.js' \
  -exec cp {} site.tmp/widgets/ \;
rm -rf site && mv site.tmp site
