// Drives a docket server with frappe-js-sdk exactly as a Frappe app would.
// Usage: node sdk.mjs <url> <api_key:api_secret> <administrator password>
// Prints one JSON object with what each call returned.
import { FrappeApp } from 'frappe-js-sdk';

const [url, token, password] = process.argv.slice(2);
const out = {};

const guest = new FrappeApp(url);
out.login = await guest.auth().loginWithUsernamePassword({ username: 'Administrator', password });
try {
  await guest.auth().loginWithUsernamePassword({ username: 'Administrator', password: 'wrong' });
} catch (e) {
  out.badLogin = { httpStatus: e.httpStatus, exception: e.exception, message: e.message };
}

const app = new FrappeApp(url, { useToken: true, token: () => token, type: 'token' });
const db = app.db();
out.user = await app.auth().getLoggedInUser();
const created = await db.createDoc('ToDo', { description: 'from the sdk', priority: 'High' });
out.created = created;
out.read = await db.getDoc('ToDo', created.name);
out.updated = await db.updateDoc('ToDo', created.name, { status: 'Closed' });
for (let i = 0; i < 3; i++) {
  await db.createDoc('ToDo', { description: `sdk ${i}`, priority: 'Low' });
}
out.list = await db.getDocList('ToDo', {
  fields: ['name', 'description', 'priority'],
  filters: [['priority', '=', 'Low']],
  orderBy: { field: 'description', order: 'asc' },
  limit_start: 1,
  limit: 2,
});
out.listAsArrays = await db.getDocList('ToDo', {
  fields: ['description'], filters: { priority: 'Low' }, orderBy: { field: 'description', order: 'desc' }, asDict: false,
});
out.grouped = await db.getDocList('ToDo', { fields: ['priority', 'count(name) as n'], groupBy: 'priority', orderBy: { field: 'priority' } });
out.count = await db.getCount('ToDo', [['priority', '=', 'Low']]);
out.countAll = await db.getCount('ToDo');
out.last = await db.getLastDoc('ToDo');
out.call = await app.call().get('frappe.auth.get_logged_user');
out.ping = await app.call().get('ping');
try {
  await db.getDoc('ToDo', 'nope');
} catch (e) {
  out.missing = { httpStatus: e.httpStatus, exception: e.exception };
}
try {
  await db.createDoc('ToDo', {});
} catch (e) {
  out.invalid = { httpStatus: e.httpStatus, exception: e.exception };
}
out.value = await db.getValue('ToDo', ['description', 'priority'], { name: created.name });
out.setValue = await db.setValue('ToDo', created.name, 'priority', 'Low');
out.setValues = await db.setValue('ToDo', created.name, { color: '#ff0000', priority: 'Medium' });
const note = await db.createDoc('Note', { title: 'rename me' });
out.renamed = await db.renameDoc('Note', note.name, 'renamed-by-sdk');
out.posted = await app.call().post('frappe.client.insert', { doc: { doctype: 'Note', title: 'via call.post' } });
const fileBody = 'hello from frappe-js-sdk ' + 'x'.repeat(1000);
// uploadFile resolves with axios' response: the body is its data.
out.uploaded = (await app.file().uploadFile(new File([fileBody], 'sdk hello.txt', { type: 'text/plain' }),
  { isPrivate: true, doctype: 'ToDo', docname: created.name, folder: 'Home' })).data;
const fileResp = await fetch(url + encodeURI(out.uploaded.message.file_url), { headers: { Authorization: 'token ' + token } });
out.downloaded = { status: fileResp.status, same: (await fileResp.text()) === fileBody };
out.deleted = await db.deleteDoc('ToDo', created.name);
console.log(JSON.stringify(out));
