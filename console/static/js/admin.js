// admin.js: the coordinator's and administrator's screens. Each module
// registers itself; the order here is the Administration menu's.
import './admin/hours.js';
import './admin/querytypes.js';
import './admin/knowledge.js';
import './admin/templates.js';
import './admin/reasons.js';
import './admin/tags.js';
import './admin/csat.js';
import './admin/groups.js';
import './admin/users.js';
import './admin/roles.js';
import './admin/derivation.js';
import './admin/audit.js';
import './admin/yaml.js';
