// One Jest run over every project (each project's jest.config.js uses the preset).
const fs = require('fs');
const path = require('path');

const projects = [];
for (const group of ['packages', 'apps']) {
  const dir = path.join(__dirname, group);
  if (!fs.existsSync(dir)) continue;
  for (const name of fs.readdirSync(dir).sort()) {
    if (fs.existsSync(path.join(dir, name, 'jest.config.js'))) projects.push(`<rootDir>/${group}/${name}`);
  }
}
if (fs.existsSync(path.join(__dirname, 'tools/jest.config.js'))) projects.push('<rootDir>/tools');

module.exports = { projects };
