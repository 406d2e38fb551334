// The ecrctl process entry point (bin/ecrctl.js imports the compiled form).
import { runProcess } from './main.js';

await runProcess();
