#!/usr/bin/env node
import '../dist/credential-helper-bin.js';
