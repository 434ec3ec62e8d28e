#!/usr/bin/env node
// Launcher committed with the package so the `sessions` bin exists before dist/ is built.
import '../dist/bin.js';
