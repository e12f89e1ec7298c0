// One Jest run over every project that has specs (each project's jest.config.js uses the preset):
// the packages, the apps, the end-to-end specs (e2e/), and the tools with their own projects
// (tools/, tools/bench, tools/zoo).
const fs = require('fs');
const path = require('path');

const projects = [];
const add = (dir) => {
  if (fs.existsSync(path.join(__dirname, dir, 'jest.config.js'))) projects.push(`<rootDir>/${dir}`);
};
for (const group of ['packages', 'apps', 'tools']) {
  const dir = path.join(__dirname, group);
  if (!fs.existsSync(dir)) continue;
  for (const name of fs.readdirSync(dir).sort()) add(`${group}/${name}`);
}
add('tools');
add('e2e');

module.exports = { projects };
