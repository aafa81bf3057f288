// style.js loads the administration screens' stylesheet beside app.css
// (a file of its own, so the screens' rules live with the screens).
const link = document.createElement('link');
link.rel = 'stylesheet';
link.href = '/console/admin.css';
document.head.appendChild(link);
