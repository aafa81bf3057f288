// screens.js imports every screen so each registers itself. The order is
// the navigation's.
import './inbox.js';
import './monitor.js';
import './reports.js';
import './admin.js';
